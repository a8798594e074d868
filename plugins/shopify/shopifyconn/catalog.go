package shopifyconn

import "strings"

// colType is a column's type: how a JSON value lands in Arrow.
type colType int

const (
	tInt    colType = iota // int64; also read from a GraphQL global id (gid://shopify/Order/12 → 12) and from numeric strings
	tFloat                 // float64
	tBool                  // bool
	tString                // utf8; money amounts stay strings so no cent is lost
	tTime                  // timestamp[us, UTC]
	tJSON                  // utf8 holding compact JSON (lists and objects)
)

func (t colType) String() string {
	return [...]string{"int64", "float64", "bool", "string", "timestamp[us, UTC]", "string (JSON)"}[t]
}

// conv adjusts a GraphQL value before it is typed, so that both APIs give a
// column the same values: columns are named and spelled as the REST Admin
// API has them, and REST values are taken as they come.
type conv int

const (
	convNone  conv = iota
	convLower      // GraphQL enums (PAID) read as REST spells them (paid)
	convJoin       // a GraphQL list of strings (tags) read as REST's "a, b"
	convSmart      // a GraphQL ruleSet: present → "smart", null → "custom"
)

// column is one column of a stream: its name and type, and where its value
// comes from in a GraphQL node and in a REST object. A path is dot
// separated; a numeric segment indexes a list, "^" at the start reads the
// parent (the order of a transaction, the location of an inventory level),
// and "(args)" after a segment is sent in the GraphQL query but not looked
// up. An empty path means the API has no such field: the column is null.
type column struct {
	Name string
	Type colType
	GQL  string
	REST string
	Conv conv
}

// Where a stream's rows come from.
type shape int

const (
	// shapeTop: a connection at the query root (GraphQL) or a list endpoint
	// (REST); one page per request.
	shapeTop shape = iota
	// shapeInline: a GraphQL list inside each parent node (an order's
	// transactions): one request reads a page of parents with their
	// children.
	shapeInline
	// shapePerParent: one parent page request lists parents, then each
	// parent's children are paged with requests of their own.
	shapePerParent
)

// gqlSpec says how a stream is read through the GraphQL Admin API.
type gqlSpec struct {
	// Conn is the path of the connection from the query root, e.g.
	// "orders" or "shop.metafields"; for shapePerParent the child
	// connection inside the parent object fetched by id, e.g.
	// "location.inventoryLevels"; for shapeInline the list field of the
	// parent node, e.g. "transactions". Empty: not readable over GraphQL.
	Conn string
	// Filter reports that the connection takes a search `query` with
	// updated_at (and id) terms.
	Filter bool
	// SortKey, when set, is passed as sortKey (UPDATED_AT).
	SortKey string
	// Node, when set, is the node selection as written; otherwise it is
	// derived from the columns' GQL paths.
	Node string
}

// restSpec says how a stream is read through the REST Admin API.
type restSpec struct {
	// Paths are the endpoints under /admin/api/<version>/, read one after
	// the other (collections: custom, then smart); {id} is the parent's id.
	// Empty: not readable over REST.
	Paths []string
	// Keys are the response members holding the records, one per path.
	Keys []string
	// Tags, when set, is the value of the synthetic member "_kind" added
	// to each record of the path with the same index.
	Tags []string
	// Params are sent with the first page request.
	Params map[string]string
	// Filter reports updated_at_min and order=updated_at asc support.
	Filter bool
	// Why, when Paths is empty, says why.
	Why string
}

// object is one stream: a Shopify object type.
type object struct {
	Name    string
	Columns []column
	Key     []string
	// FilterField is the column whose stored cursor Shopify can filter
	// on (updated_at, or order_updated_at for an order's children): the
	// cursor becomes a server-side `updated_at:>'…'` term.
	FilterField string
	Shape       shape
	// Parent is the parent stream of shapeInline and shapePerParent.
	Parent string
	// ParentGQL, for shapePerParent, is the parent's list connection.
	ParentGQL string
	// ParentREST is the parent's list endpoint and response key.
	ParentREST, ParentRESTKey string
	GQL                       gqlSpec
	REST                      restSpec
	Scope                     string // the access scope(s) a custom app needs
}

func (o *object) column(name string) (column, bool) {
	for _, c := range o.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return column{}, false
}

// idCols are the two identity columns every object has: the numeric id and
// the GraphQL global id, which REST objects carry as admin_graphql_api_id.
func idCols() []column {
	return []column{
		{Name: "id", Type: tInt, GQL: "id", REST: "id"},
		{Name: "admin_graphql_api_id", Type: tString, GQL: "id", REST: "admin_graphql_api_id"},
	}
}

func money(name, gqlSet, rest string) column {
	return column{Name: name, Type: tString, GQL: gqlSet + ".shopMoney.amount", REST: rest}
}

// orderParentCols are what a row read through an order carries of it.
func orderParentCols() []column {
	return []column{
		{Name: "order_id", Type: tInt, GQL: "^.id", REST: "^.id"},
		{Name: "order_updated_at", Type: tTime, GQL: "^.updatedAt", REST: "^.updated_at"},
	}
}

// discountTypes are the members of the DiscountNode.discount union.
var discountTypes = []string{
	"DiscountCodeBasic", "DiscountCodeBxgy", "DiscountCodeFreeShipping", "DiscountCodeApp",
	"DiscountAutomaticBasic", "DiscountAutomaticBxgy", "DiscountAutomaticFreeShipping", "DiscountAutomaticApp",
}

func discountNode() string {
	var b strings.Builder
	b.WriteString("id discount { __typename")
	for _, t := range discountTypes {
		b.WriteString(" ... on " + t + " { title status startsAt endsAt createdAt updatedAt }")
	}
	b.WriteString(" }")
	return b.String()
}

// metafieldOwners are the metafields_owner values: the owner's parent
// stream, its GraphQL object field and its REST endpoint.
var metafieldOwners = map[string]struct{ parent, gqlField, rest string }{
	"shop":        {},
	"products":    {"products", "product", "products/{id}/metafields.json"},
	"customers":   {"customers", "customer", "customers/{id}/metafields.json"},
	"orders":      {"orders", "order", "orders/{id}/metafields.json"},
	"collections": {"collections", "collection", "collections/{id}/metafields.json"},
}

// catalog returns the objects, in Discover's order, for the metafields
// owner given.
func catalog(metafieldsOwner string) []*object {
	upd := func() []column {
		return []column{
			{Name: "created_at", Type: tTime, GQL: "createdAt", REST: "created_at"},
			{Name: "updated_at", Type: tTime, GQL: "updatedAt", REST: "updated_at"},
		}
	}
	cat := []*object{
		{
			Name: "orders", Key: []string{"id"}, FilterField: "updated_at", Scope: "read_orders (and read_all_orders for orders older than 60 days)",
			Columns: append(append(idCols(),
				column{Name: "name", Type: tString, GQL: "name", REST: "name"},
				column{Name: "email", Type: tString, GQL: "email", REST: "email"},
				column{Name: "phone", Type: tString, GQL: "phone", REST: "phone"}),
				append(upd(),
					column{Name: "processed_at", Type: tTime, GQL: "processedAt", REST: "processed_at"},
					column{Name: "cancelled_at", Type: tTime, GQL: "cancelledAt", REST: "cancelled_at"},
					column{Name: "cancel_reason", Type: tString, GQL: "cancelReason", REST: "cancel_reason", Conv: convLower},
					column{Name: "closed_at", Type: tTime, GQL: "closedAt", REST: "closed_at"},
					column{Name: "financial_status", Type: tString, GQL: "displayFinancialStatus", REST: "financial_status", Conv: convLower},
					column{Name: "fulfillment_status", Type: tString, GQL: "displayFulfillmentStatus", REST: "fulfillment_status", Conv: convLower},
					column{Name: "currency", Type: tString, GQL: "currencyCode", REST: "currency"},
					money("total_price", "totalPriceSet", "total_price"),
					money("subtotal_price", "subtotalPriceSet", "subtotal_price"),
					money("total_tax", "totalTaxSet", "total_tax"),
					money("total_discounts", "totalDiscountsSet", "total_discounts"),
					column{Name: "customer_id", Type: tInt, GQL: "customer.id", REST: "customer.id"},
					column{Name: "tags", Type: tString, GQL: "tags", REST: "tags", Conv: convJoin},
					column{Name: "note", Type: tString, GQL: "note", REST: "note"},
					column{Name: "source_name", Type: tString, GQL: "sourceName", REST: "source_name"},
					column{Name: "test", Type: tBool, GQL: "test", REST: "test"},
				)...),
			GQL:  gqlSpec{Conn: "orders", Filter: true, SortKey: "UPDATED_AT"},
			REST: restSpec{Paths: []string{"orders.json"}, Keys: []string{"orders"}, Params: map[string]string{"status": "any"}, Filter: true},
		},
		{
			Name: "customers", Key: []string{"id"}, FilterField: "updated_at", Scope: "read_customers",
			Columns: append(append(idCols(),
				column{Name: "email", Type: tString, GQL: "email", REST: "email"},
				column{Name: "first_name", Type: tString, GQL: "firstName", REST: "first_name"},
				column{Name: "last_name", Type: tString, GQL: "lastName", REST: "last_name"},
				column{Name: "phone", Type: tString, GQL: "phone", REST: "phone"},
				column{Name: "state", Type: tString, GQL: "state", REST: "state", Conv: convLower}),
				append(upd(),
					column{Name: "orders_count", Type: tInt, GQL: "numberOfOrders", REST: "orders_count"},
					column{Name: "total_spent", Type: tString, GQL: "amountSpent.amount", REST: "total_spent"},
					column{Name: "verified_email", Type: tBool, GQL: "verifiedEmail", REST: "verified_email"},
					column{Name: "tax_exempt", Type: tBool, GQL: "taxExempt", REST: "tax_exempt"},
					column{Name: "tags", Type: tString, GQL: "tags", REST: "tags", Conv: convJoin},
					column{Name: "note", Type: tString, GQL: "note", REST: "note"},
				)...),
			GQL:  gqlSpec{Conn: "customers", Filter: true, SortKey: "UPDATED_AT"},
			REST: restSpec{Paths: []string{"customers.json"}, Keys: []string{"customers"}, Filter: true},
		},
		{
			Name: "products", Key: []string{"id"}, FilterField: "updated_at", Scope: "read_products",
			Columns: append(append(idCols(),
				column{Name: "title", Type: tString, GQL: "title", REST: "title"},
				column{Name: "handle", Type: tString, GQL: "handle", REST: "handle"},
				column{Name: "vendor", Type: tString, GQL: "vendor", REST: "vendor"},
				column{Name: "product_type", Type: tString, GQL: "productType", REST: "product_type"},
				column{Name: "status", Type: tString, GQL: "status", REST: "status", Conv: convLower},
				column{Name: "tags", Type: tString, GQL: "tags", REST: "tags", Conv: convJoin}),
				append(upd(),
					column{Name: "published_at", Type: tTime, GQL: "publishedAt", REST: "published_at"},
					column{Name: "body_html", Type: tString, GQL: "descriptionHtml", REST: "body_html"},
					column{Name: "total_inventory", Type: tInt, GQL: "totalInventory"},
				)...),
			GQL:  gqlSpec{Conn: "products", Filter: true, SortKey: "UPDATED_AT"},
			REST: restSpec{Paths: []string{"products.json"}, Keys: []string{"products"}, Filter: true},
		},
		{
			Name: "inventory_items", Key: []string{"id"}, FilterField: "updated_at", Scope: "read_inventory (and read_products)",
			Columns: append(append(idCols(),
				column{Name: "sku", Type: tString, GQL: "sku"},
				column{Name: "tracked", Type: tBool, GQL: "tracked"},
				column{Name: "requires_shipping", Type: tBool, GQL: "requiresShipping"},
				column{Name: "country_code_of_origin", Type: tString, GQL: "countryCodeOfOrigin"},
				column{Name: "harmonized_system_code", Type: tString, GQL: "harmonizedSystemCode"},
				column{Name: "cost", Type: tString, GQL: "unitCost.amount"}),
				upd()...),
			GQL:  gqlSpec{Conn: "inventoryItems", Filter: true},
			REST: restSpec{Why: "the REST Admin API lists inventory items only by their ids; read inventory_items with api: graphql"},
		},
		{
			Name: "inventory_levels", Key: []string{"inventory_item_id", "location_id"}, Scope: "read_inventory and read_locations",
			Shape: shapePerParent, Parent: "locations", ParentGQL: "locations", ParentREST: "locations.json", ParentRESTKey: "locations",
			Columns: []column{
				{Name: "admin_graphql_api_id", Type: tString, GQL: "id", REST: "admin_graphql_api_id"},
				{Name: "inventory_item_id", Type: tInt, GQL: "item.id", REST: "inventory_item_id"},
				{Name: "location_id", Type: tInt, GQL: "^.id", REST: "location_id"},
				{Name: "available", Type: tInt, GQL: `quantities(names: ["available"]).0.quantity`, REST: "available"},
				{Name: "updated_at", Type: tTime, GQL: "updatedAt", REST: "updated_at"},
			},
			GQL:  gqlSpec{Conn: "location.inventoryLevels"},
			REST: restSpec{Paths: []string{"inventory_levels.json"}, Keys: []string{"inventory_levels"}, Params: map[string]string{"location_ids": "{id}"}},
		},
		{
			Name: "locations", Key: []string{"id"}, Scope: "read_locations",
			Columns: append(append(idCols(),
				column{Name: "name", Type: tString, GQL: "name", REST: "name"},
				column{Name: "active", Type: tBool, GQL: "isActive", REST: "active"},
				column{Name: "address1", Type: tString, GQL: "address.address1", REST: "address1"},
				column{Name: "address2", Type: tString, GQL: "address.address2", REST: "address2"},
				column{Name: "city", Type: tString, GQL: "address.city", REST: "city"},
				column{Name: "province", Type: tString, GQL: "address.province", REST: "province"},
				column{Name: "country_code", Type: tString, GQL: "address.countryCode", REST: "country_code"},
				column{Name: "zip", Type: tString, GQL: "address.zip", REST: "zip"},
				column{Name: "phone", Type: tString, GQL: "address.phone", REST: "phone"}),
				upd()...),
			GQL:  gqlSpec{Conn: "locations"},
			REST: restSpec{Paths: []string{"locations.json"}, Keys: []string{"locations"}},
		},
		{
			Name: "transactions", Key: []string{"id"}, FilterField: "order_updated_at", Scope: "read_orders",
			Shape: shapeInline, Parent: "orders", ParentREST: "orders.json", ParentRESTKey: "orders",
			Columns: append(append(idCols(), orderParentCols()...),
				column{Name: "kind", Type: tString, GQL: "kind", REST: "kind", Conv: convLower},
				column{Name: "status", Type: tString, GQL: "status", REST: "status", Conv: convLower},
				column{Name: "gateway", Type: tString, GQL: "gateway", REST: "gateway"},
				column{Name: "amount", Type: tString, GQL: "amountSet.shopMoney.amount", REST: "amount"},
				column{Name: "currency", Type: tString, GQL: "amountSet.shopMoney.currencyCode", REST: "currency"},
				column{Name: "created_at", Type: tTime, GQL: "createdAt", REST: "created_at"},
				column{Name: "processed_at", Type: tTime, GQL: "processedAt", REST: "processed_at"},
				column{Name: "parent_id", Type: tInt, GQL: "parentTransaction.id", REST: "parent_id"},
				column{Name: "error_code", Type: tString, GQL: "errorCode", REST: "error_code", Conv: convLower},
				column{Name: "test", Type: tBool, GQL: "test", REST: "test"},
			),
			GQL:  gqlSpec{Conn: "transactions"},
			REST: restSpec{Paths: []string{"orders/{id}/transactions.json"}, Keys: []string{"transactions"}},
		},
		{
			Name: "fulfillments", Key: []string{"id"}, FilterField: "order_updated_at", Scope: "read_orders (read_fulfillments for fulfillment services' orders)",
			Shape: shapeInline, Parent: "orders", ParentREST: "orders.json", ParentRESTKey: "orders",
			Columns: append(append(idCols(), orderParentCols()...),
				column{Name: "name", Type: tString, GQL: "name", REST: "name"},
				column{Name: "status", Type: tString, GQL: "status", REST: "status", Conv: convLower},
				column{Name: "created_at", Type: tTime, GQL: "createdAt", REST: "created_at"},
				column{Name: "updated_at", Type: tTime, GQL: "updatedAt", REST: "updated_at"},
				column{Name: "location_id", Type: tInt, GQL: "location.id", REST: "location_id"},
				column{Name: "tracking_company", Type: tString, GQL: "trackingInfo.0.company", REST: "tracking_company"},
				column{Name: "tracking_number", Type: tString, GQL: "trackingInfo.0.number", REST: "tracking_number"},
			),
			GQL:  gqlSpec{Conn: "fulfillments"},
			REST: restSpec{Paths: []string{"orders/{id}/fulfillments.json"}, Keys: []string{"fulfillments"}},
		},
		{
			Name: "refunds", Key: []string{"id"}, FilterField: "order_updated_at", Scope: "read_orders",
			Shape: shapeInline, Parent: "orders", ParentREST: "orders.json", ParentRESTKey: "orders",
			Columns: append(append(idCols(), orderParentCols()...),
				column{Name: "created_at", Type: tTime, GQL: "createdAt", REST: "created_at"},
				column{Name: "processed_at", Type: tTime, REST: "processed_at"},
				column{Name: "updated_at", Type: tTime, GQL: "updatedAt"},
				column{Name: "note", Type: tString, GQL: "note", REST: "note"},
				column{Name: "total_refunded", Type: tString, GQL: "totalRefundedSet.shopMoney.amount"},
				column{Name: "currency", Type: tString, GQL: "totalRefundedSet.shopMoney.currencyCode"},
			),
			GQL:  gqlSpec{Conn: "refunds"},
			REST: restSpec{Paths: []string{"orders/{id}/refunds.json"}, Keys: []string{"refunds"}},
		},
		{
			Name: "discounts", Key: []string{"id"}, FilterField: "updated_at", Scope: "read_discounts (REST: read_price_rules)",
			Columns: append(idCols(),
				column{Name: "type", Type: tString, GQL: "discount.__typename", REST: "value_type"},
				column{Name: "title", Type: tString, GQL: "discount.title", REST: "title"},
				column{Name: "status", Type: tString, GQL: "discount.status", Conv: convLower},
				column{Name: "starts_at", Type: tTime, GQL: "discount.startsAt", REST: "starts_at"},
				column{Name: "ends_at", Type: tTime, GQL: "discount.endsAt", REST: "ends_at"},
				column{Name: "created_at", Type: tTime, GQL: "discount.createdAt", REST: "created_at"},
				column{Name: "updated_at", Type: tTime, GQL: "discount.updatedAt", REST: "updated_at"},
				column{Name: "value", Type: tString, REST: "value"},
			),
			GQL:  gqlSpec{Conn: "discountNodes", Filter: true, SortKey: "UPDATED_AT", Node: discountNode()},
			REST: restSpec{Paths: []string{"price_rules.json"}, Keys: []string{"price_rules"}, Filter: true},
		},
		{
			Name: "collections", Key: []string{"id"}, FilterField: "updated_at", Scope: "read_products",
			Columns: append(idCols(),
				column{Name: "title", Type: tString, GQL: "title", REST: "title"},
				column{Name: "handle", Type: tString, GQL: "handle", REST: "handle"},
				column{Name: "collection_type", Type: tString, GQL: "ruleSet.appliedDisjunctively", REST: "_kind", Conv: convSmart},
				column{Name: "sort_order", Type: tString, GQL: "sortOrder", REST: "sort_order", Conv: convLower},
				column{Name: "template_suffix", Type: tString, GQL: "templateSuffix", REST: "template_suffix"},
				column{Name: "body_html", Type: tString, GQL: "descriptionHtml", REST: "body_html"},
				column{Name: "products_count", Type: tInt, GQL: "productsCount.count"},
				column{Name: "updated_at", Type: tTime, GQL: "updatedAt", REST: "updated_at"},
			),
			GQL: gqlSpec{Conn: "collections", Filter: true, SortKey: "UPDATED_AT"},
			REST: restSpec{Paths: []string{"custom_collections.json", "smart_collections.json"}, Keys: []string{"custom_collections", "smart_collections"},
				Tags: []string{"custom", "smart"}, Filter: true},
		},
	}
	cat = append(cat, metafields(metafieldsOwner))
	return cat
}

// metafields is the metafields stream of an owner type: the shop's own
// (a top-level connection) or each product's, customer's, order's or
// collection's, read through the owner.
func metafields(owner string) *object {
	o := &object{
		Name: "metafields", Key: []string{"id"}, Scope: "the owner's scope (read_products, read_customers, read_orders); none for the shop's",
		Columns: append(idCols(),
			column{Name: "namespace", Type: tString, GQL: "namespace", REST: "namespace"},
			column{Name: "key", Type: tString, GQL: "key", REST: "key"},
			column{Name: "value", Type: tString, GQL: "value", REST: "value"},
			column{Name: "type", Type: tString, GQL: "type", REST: "type"},
			column{Name: "owner_id", Type: tInt, GQL: "^.id", REST: "owner_id"},
			column{Name: "owner_resource", Type: tString, GQL: "ownerType", REST: "owner_resource", Conv: convLower},
			column{Name: "created_at", Type: tTime, GQL: "createdAt", REST: "created_at"},
			column{Name: "updated_at", Type: tTime, GQL: "updatedAt", REST: "updated_at"},
		),
	}
	mo := metafieldOwners[owner]
	if mo.parent == "" {
		o.GQL = gqlSpec{Conn: "shop.metafields"}
		o.REST = restSpec{Paths: []string{"metafields.json"}, Keys: []string{"metafields"}}
		o.Columns[6].GQL = "" // the shop's id is not asked for
		return o
	}
	o.Shape = shapePerParent
	o.Parent = mo.parent
	o.ParentGQL = mo.parent
	o.ParentREST = mo.parent + ".json"
	o.ParentRESTKey = mo.parent
	if mo.parent == "collections" {
		// REST has no collections.json listing; the parent ids come from
		// custom_collections.json only.
		o.ParentREST, o.ParentRESTKey = "custom_collections.json", "custom_collections"
	}
	o.GQL = gqlSpec{Conn: mo.gqlField + ".metafields"}
	o.REST = restSpec{Paths: []string{mo.rest}, Keys: []string{"metafields"}}
	return o
}
