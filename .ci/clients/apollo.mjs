// Apollo Client 3 against a running trade-graph, as a frontend app uses it:
// automatic persisted queries (over POST, then hash-only over GET) and
// operation batching. Prints what happened as JSON for tests/clients.rs;
// exits non-zero when a query fails.
//
//     node apollo.mjs http://127.0.0.1:8080/graphql
import { createHash } from "node:crypto";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client/core/index.js";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries/index.js";
import { BatchHttpLink } from "@apollo/client/link/batch-http/index.js";

const uri = process.argv[2];
const sha256 = (document) => createHash("sha256").update(document).digest("hex");

/** fetch, recording each request's method and body shape. */
function recordingFetch(log) {
  return async (url, options = {}) => {
    const body = options.body ? JSON.parse(options.body) : null;
    const search = new URL(url).searchParams;
    log.push({
      method: options.method ?? "GET",
      batch: Array.isArray(body) ? body.length : null,
      hashOnly: body
        ? !Array.isArray(body) && body.query === undefined && !!body.extensions?.persistedQuery
        : !search.has("query") && search.has("extensions"),
    });
    return fetch(url, options);
  };
}

const PROFILE = gql`
  query Profile($iso3: String!) {
    jurisdiction(iso3: $iso3) { iso3 name }
  }
`;

async function persisted(useGETForHashedQueries) {
  const fetches = [];
  const client = () =>
    new ApolloClient({
      cache: new InMemoryCache(),
      link: createPersistedQueryLink({ sha256, useGETForHashedQueries }).concat(
        new HttpLink({ uri, fetch: recordingFetch(fetches) }),
      ),
    });
  // A fresh client each time: no answer comes from Apollo's own cache.
  const first = await client().query({ query: PROFILE, variables: { iso3: "BRA" } });
  const second = await client().query({ query: PROFILE, variables: { iso3: "DEU" } });
  return { fetches, names: [first.data.jurisdiction.name, second.data.jurisdiction.name] };
}

async function batched() {
  const fetches = [];
  const client = new ApolloClient({
    cache: new InMemoryCache(),
    link: new BatchHttpLink({ uri, batchMax: 5, batchInterval: 20, fetch: recordingFetch(fetches) }),
  });
  const answers = await Promise.all(
    ["USA", "CHN", "IND"].map((iso3) => client.query({ query: PROFILE, variables: { iso3 } })),
  );
  return { fetches, names: answers.map((answer) => answer.data.jurisdiction.name) };
}

const result = {
  persistedPost: await persisted(false),
  persistedGet: await persisted(true),
  batched: await batched(),
};
console.log(JSON.stringify(result));
