// Composes subgraphs into a supergraph with Apollo's own composition
// (@apollo/composition): `node compose.mjs <out> <services.json>`, where
// services.json is [{"name", "url", "sdl"}]. Prints every composition error
// and exits 1 if there is any.
import { readFileSync, writeFileSync } from "node:fs";
import { parse } from "graphql";
import { composeServices } from "@apollo/composition";

const [out, servicesPath] = process.argv.slice(2);
const services = JSON.parse(readFileSync(servicesPath, "utf8")).map((service) => ({
  name: service.name,
  url: service.url,
  typeDefs: parse(service.sdl),
}));
const result = composeServices(services);
if (result.errors && result.errors.length > 0) {
  for (const error of result.errors) console.error(`composition error: ${error.message}`);
  process.exit(1);
}
for (const hint of result.hints ?? []) console.error(`hint: ${hint.message}`);
writeFileSync(out, result.supergraphSdl);
console.log(`composed ${services.length} subgraphs into ${out}`);
