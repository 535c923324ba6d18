// graphql-ws, the `graphql-transport-ws` client most frontends use, against
// a running trade-graph: two subscriptions (new interventions of some
// jurisdictions, new trade leads of some countries) and a query, all on one
// socket. Prints what arrived as JSON for tests/clients.rs and .ci/run;
// exits non-zero on an error, or when the events do not come within a
// minute.
//
//     node subscriptions.mjs ws://127.0.0.1:8080/graphql [events per subscription]
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const url = process.argv[2];
const wanted = Number(process.argv[3] ?? 2);
setTimeout(() => {
  console.error(`no ${wanted} events within a minute`);
  process.exit(2);
}, 60_000).unref();

const client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0 });

/** The first `count` results of `query`; an error fails the run. */
async function take(query, count) {
  const results = [];
  for await (const result of client.iterate({ query })) {
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    results.push(result);
    // Leaving the loop completes the subscription.
    if (results.length >= count) break;
  }
  return results;
}

try {
  const [interventions, leads, query] = await Promise.all([
    take(
      `subscription { newInterventions(implementers: ["USA", "CHN", "IND", "BRA", "DEU"]) {
         id title implementingJurisdictions { iso3 } } }`,
      wanted,
    ),
    take(`subscription { newTradeLeads(countries: ["MX", "Canada", "GB"]) { id countryCode title } }`, wanted),
    take(`{ jurisdiction(iso3: "BRA") { name } }`, 1),
  ]);
  console.log(
    JSON.stringify({
      interventions: interventions.map(({ data, extensions }) => ({
        id: data.newInterventions.id,
        implementers: data.newInterventions.implementingJurisdictions.map((j) => j.iso3),
        upstream: extensions?.upstream,
      })),
      leads: leads.map(({ data }) => data.newTradeLeads),
      query: query[0].data,
    }),
  );
} catch (error) {
  console.error(error.message ?? error);
  process.exitCode = 1;
} finally {
  await client.dispose();
}
