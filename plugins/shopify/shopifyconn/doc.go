// Package shopifyconn is the shopify connector: a source reading a Shopify
// shop's Admin API objects (orders, customers, products, inventory items
// and levels, locations, an order's transactions, fulfillments and
// refunds, discounts, collections, metafields) as streams, through the
// GraphQL Admin API by default or the REST Admin API, one HTTP request per
// page.
//
// # Pages and checkpoints
//
// Every ReadPage makes exactly one request. Its checkpoint is JSON holding
// Shopify's own cursor unchanged (the GraphQL endCursor, or the REST
// page_info of the rel="next" Link) plus the read's fixed filter, so a
// read resumed from a checkpoint, in any process, repeats the request that
// failed. Objects that live under a parent are read through it:
//
//   - GraphQL reads an order's transactions, refunds and fulfillments
//     inline, a page of orders per query with each order's list; the
//     checkpoint is the orders' cursor. A parent with more children than
//     child_page_size fails the page (nothing is dropped silently).
//   - Otherwise (inventory levels per location, metafields per owner, and
//     every child object over REST) a parent page request lists parent
//     ids into the checkpoint (a page without rows), then each parent's
//     children are paged; the checkpoint holds the parents' cursor, the
//     parents left on the current parent page, and the cursor inside the
//     first one's children.
//
// When one response holds more rows than the host's page (MaxRows), the
// page returns a slice and the checkpoint counts the rows returned (Skip),
// repeating the same request for the rest.
//
// # Throttling
//
// Each page carries the response's rate-limit facts as sdk.RateHints, so
// the host paces requests before the bucket is empty: GraphQL's
// extensions.cost (throttleStatus currentlyAvailable, maximumAvailable,
// restoreRate, and the query's requested cost) and REST's
// X-Shopify-Shop-Api-Call-Limit ("32/40": Remaining 8, Limit 40, restore
// rate 40/20 = 2 a second). A THROTTLED GraphQL error or a REST 429 is
// RATE_LIMITED, with the wait the cost deficit and restore rate give, or
// Retry-After. The connector never retries: the host does.
//
// # Errors
//
// 401 and 403 (and GraphQL ACCESS_DENIED) are PERMANENT and name the
// missing access scope when Shopify says it; 5xx, timeouts and connection
// failures are TRANSIENT. Every request has a timeout (the timeout key,
// 30 s by default), and the host's per-call deadline applies too.
//
// docs/connectors/shopify.md describes keys, streams and columns.
package shopifyconn
