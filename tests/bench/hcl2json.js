// hcl2json.js — the HCL peer of `make bench`: HashiCorp's HCL parser
// (@cdktf/hcl2json, the Go library built to WebAssembly) converting one .tf
// file to JSON, timed from inside node so that node's start and the
// WebAssembly module's load, which a long-running tool pays once, are not
// counted. It parses; it does not evaluate references or check types, so the
// ratio to `moksha check` flatters the parser. Not a Terraform replacement.
//
//   NODE_PATH=build/tools/npm/node_modules node tests/bench/hcl2json.js main.tf
//
// Prints `parse_ms=MS resources=N` (the resource instances are the blocks,
// a for_each counted once) and exits 1 when the file does not parse.
"use strict";
const fs = require("fs");
const { parse } = require("@cdktf/hcl2json");

async function main(file) {
  await parse("warm.tf", 'locals {\n  a = 1\n}\n'); // load and start the module first
  const t0 = process.hrtime.bigint();
  const text = fs.readFileSync(file, "utf8");
  const json = await parse(file, text);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  let n = 0;
  for (const byName of Object.values(json.resource || {})) n += Object.keys(byName).length;
  console.log(`parse_ms=${Math.round(ms)} resources=${n}`);
}

main(process.argv[2]).catch((e) => {
  console.error(`hcl2json: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
