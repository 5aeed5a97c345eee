// Runs first thing in <body>: GOV.UK Frontend styles its components for JavaScript only when the
// body has these classes. A file rather than GOV.UK's inline snippet, as the pages' CSP forbids inline scripts.
document.body.classList.add("js-enabled");
if ("noModule" in HTMLScriptElement.prototype) {
  document.body.classList.add("govuk-frontend-supported");
}
