(() => {
  const log = document.getElementById("log");
  const choices = document.getElementById("choices");
  const input = document.getElementById("text");
  let session = sessionStorage.getItem("sim-session") || newSession();
  let role = "referrer";
  const referrerSession = () => session;

  // A young person's "session" is their number, so the bot's texts to that number reach them here.
  function youngPersonSession() {
    let digits = document.getElementById("yp-number").value.replace(/\D/g, "");
    if (digits.startsWith("0")) digits = "44" + digits.slice(1);
    return digits || "447700900456";
  }
  const currentSession = () => (role === "young_person" ? youngPersonSession() : referrerSession());
  document.querySelectorAll('input[name="role"]').forEach(radio => radio.addEventListener("change", () => {
    role = radio.value;
    log.replaceChildren(); choices.replaceChildren();
    lastSeen = 0;
  }));

  function newSession() {
    const id = "web-" + crypto.randomUUID().replaceAll("-", "").slice(0, 16);
    sessionStorage.setItem("sim-session", id);
    return id;
  }
  function show(text, who) {
    const div = document.createElement("div");
    div.className = "msg " + who;
    div.textContent = text;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
  }
  async function send(text) {
    show(text, "me");
    choices.replaceChildren();
    try {
      const response = await fetch("simulator/message", {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({session: currentSession(), role, text}),
      });
      if (!response.ok) {
        // A refusal says why (too many messages a minute); anything else gives its status.
        const refusal = await response.json().catch(() => ({}));
        show("(" + (refusal.error || "The simulator could not send that: " + response.status) + ")", "bot");
        return;
      }
      const data = await response.json();
      data.replies.forEach(r => show(r, "bot"));
      (data.choices.at(-1) || []).forEach(c => {
        const b = document.createElement("button");
        b.type = "button"; b.textContent = c; b.className = "govuk-button govuk-button--secondary";
        // Focus goes back to the message box, so the next answer can be typed straight away.
        b.onclick = () => { input.focus(); send(c); };
        choices.appendChild(b);
      });
    } catch (e) { show("(Could not reach the server. Is it running?)", "bot"); }
  }
  // Messages the bot starts (a question from the referral unit, a decision) arrive here.
  let lastSeen = Number(sessionStorage.getItem("sim-last") || 0);
  async function poll() {
    try {
      const response = await fetch(`simulator/inbox?session=${currentSession()}&role=${role}&after=${lastSeen}`);
      if (response.ok) {
        const data = await response.json();
        data.messages.forEach(m => { show(m.text, "bot"); lastSeen = m.id; });
        sessionStorage.setItem("sim-last", String(lastSeen));
      }
    } catch (e) { /* the server may be restarting: try again next time */ }
  }
  setInterval(poll, 3000);

  document.getElementById("send").addEventListener("submit", ev => {
    ev.preventDefault();
    const text = input.value.trim();
    if (text) { input.value = ""; send(text); }
  });
  document.getElementById("reset").onclick = () => {
    session = newSession(); log.replaceChildren(); choices.replaceChildren(); input.focus();
  };
})();
