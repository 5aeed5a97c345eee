"""The referral unit's staff pages: login, the queue, referrals, oversight."""
