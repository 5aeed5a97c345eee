// Rebuilds the vendored front-end files from the versions pinned in package.json:
//   bot/static/govuk/govuk-frontend.min.css  compiled from govuk.scss (Arial, no crown)
//   bot/static/govuk/govuk-frontend.min.js   GOV.UK Frontend's own build, as published
//   tests/vendor/axe.min.js                  axe-core, injected into pages by the browser tests
// and writes a manifest of versions and sha256 sums that the Python tests check without Node.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

import * as sass from "sass";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const version = (name) => JSON.parse(readFileSync(join(here, "node_modules", name, "package.json"), "utf8")).version;
const versions = { "govuk-frontend": version("govuk-frontend"), "axe-core": version("axe-core"), sass: version("sass") };

const staticDir = join(root, "bot", "static", "govuk");
const vendorDir = join(root, "tests", "vendor");
mkdirSync(staticDir, { recursive: true });
mkdirSync(vendorDir, { recursive: true });

const compiled = sass.compile(join(here, "govuk.scss"), {
  style: "compressed",
  sourceMap: false,
  importers: [new sass.NodePackageImporter(here)],
});
const header = `/*! govuk-frontend ${versions["govuk-frontend"]} (MIT), built by referral-bot's assets/build.mjs ` +
  `with sass ${versions.sass}: Arial, no crown */\n`;
const css = join(staticDir, "govuk-frontend.min.css");
// Sass starts compressed output that has non-ASCII characters with a byte order mark: keep it first.
const body = compiled.css.replace(/^\uFEFF/, "");
writeFileSync(css, (body.length < compiled.css.length ? "\uFEFF" : "") + header + body + "\n");

const js = join(staticDir, "govuk-frontend.min.js");
copyFileSync(join(here, "node_modules", "govuk-frontend", "dist", "govuk", "govuk-frontend.min.js"), js);
const axe = join(vendorDir, "axe.min.js");
copyFileSync(join(here, "node_modules", "axe-core", "axe.min.js"), axe);

const sha256 = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");
const files = Object.fromEntries([css, js, axe].map((path) => [relative(root, path), sha256(path)]));
writeFileSync(join(here, "manifest.json"), JSON.stringify({ versions, files }, null, 2) + "\n");
console.log(`built govuk-frontend ${versions["govuk-frontend"]}, axe-core ${versions["axe-core"]}`);
