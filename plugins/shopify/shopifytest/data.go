package shopifytest

import (
	"fmt"
	"strings"
	"time"
)

// record is one object in both of Shopify's shapes: its GraphQL node and
// its REST JSON. id and updated drive sorting, filtering and cursors.
type record struct {
	id      int64
	updated time.Time
	gql     map[string]any
	rest    map[string]any
	// children by GraphQL list field / REST endpoint name
	kids map[string][]*record
}

func gid(kind string, id int64) string { return fmt.Sprintf("gid://shopify/%s/%d", kind, id) }

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func money(amount string) map[string]any {
	return map[string]any{"shopMoney": map[string]any{"amount": amount, "currencyCode": "USD"}}
}

// base is the shop's epoch: every generated timestamp is after it.
var base = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Kinds of child records of an order.
const (
	kidTransactions = "transactions"
	kidRefunds      = "refunds"
	kidFulfillments = "fulfillments"
	kidLevels       = "inventoryLevels"
	kidMetafields   = "metafields"
)

func newOrder(i int64) *record {
	created := base.Add(time.Duration(i) * time.Minute)
	updated := created.Add(time.Duration(i%7) * time.Second)
	amount := fmt.Sprintf("%d.%02d", 10+i%90, i%100)
	var customer map[string]any
	var restCustomer any
	if i%4 != 0 {
		customer = map[string]any{"id": gid("Customer", 1000+i%30)}
		restCustomer = map[string]any{"id": 1000 + i%30}
	}
	tags := []any{}
	if i%3 == 0 {
		tags = []any{"vip", "wholesale"}
	}
	var email any = fmt.Sprintf("buyer%d@example.com", i)
	if i%11 == 0 {
		email = nil
	}
	r := &record{id: i, updated: updated, kids: map[string][]*record{}}
	r.gql = map[string]any{
		"id": gid("Order", i), "name": fmt.Sprintf("#%d", 1000+i), "email": email, "phone": nil,
		"createdAt": ts(created), "updatedAt": ts(updated), "processedAt": ts(created), "cancelledAt": nil, "cancelReason": nil, "closedAt": nil,
		"displayFinancialStatus": "PAID", "displayFulfillmentStatus": "UNFULFILLED", "currencyCode": "USD",
		"totalPriceSet": money(amount), "subtotalPriceSet": money(amount), "totalTaxSet": money("0.00"), "totalDiscountsSet": money("0.00"),
		"customer": customer, "tags": tags, "note": nil, "sourceName": "web", "test": false,
	}
	restTags := ""
	if len(tags) > 0 {
		restTags = "vip, wholesale"
	}
	r.rest = map[string]any{
		"id": i, "admin_graphql_api_id": gid("Order", i), "name": fmt.Sprintf("#%d", 1000+i), "email": email, "phone": nil,
		"created_at": ts(created), "updated_at": ts(updated), "processed_at": ts(created), "cancelled_at": nil, "cancel_reason": nil, "closed_at": nil,
		"financial_status": "paid", "fulfillment_status": nil, "currency": "USD",
		"total_price": amount, "subtotal_price": amount, "total_tax": "0.00", "total_discounts": "0.00",
		"customer": restCustomer, "tags": restTags, "note": nil, "source_name": "web", "test": false,
	}
	for k := int64(0); k < i%3; k++ {
		id := i*10 + k
		t := &record{id: id, updated: created}
		t.gql = map[string]any{"id": gid("OrderTransaction", id), "kind": "SALE", "status": "SUCCESS", "gateway": "manual",
			"amountSet": money(amount), "createdAt": ts(created), "processedAt": ts(created), "parentTransaction": nil, "errorCode": nil, "test": false}
		t.rest = map[string]any{"id": id, "admin_graphql_api_id": gid("OrderTransaction", id), "order_id": i, "kind": "sale", "status": "success",
			"gateway": "manual", "amount": amount, "currency": "USD", "created_at": ts(created), "processed_at": ts(created), "parent_id": nil, "error_code": nil, "test": false}
		r.kids[kidTransactions] = append(r.kids[kidTransactions], t)
	}
	if i%5 == 0 {
		id := i*10 + 7
		f := &record{id: id, updated: updated}
		f.gql = map[string]any{"id": gid("Refund", id), "createdAt": ts(updated), "updatedAt": ts(updated), "note": "damaged", "totalRefundedSet": money("1.00")}
		f.rest = map[string]any{"id": id, "admin_graphql_api_id": gid("Refund", id), "order_id": i, "created_at": ts(updated), "processed_at": ts(updated), "note": "damaged"}
		r.kids[kidRefunds] = append(r.kids[kidRefunds], f)
	}
	if i%2 == 0 {
		id := i*10 + 8
		f := &record{id: id, updated: updated}
		f.gql = map[string]any{"id": gid("Fulfillment", id), "name": fmt.Sprintf("#%d.1", 1000+i), "status": "SUCCESS", "createdAt": ts(updated), "updatedAt": ts(updated),
			"location": map[string]any{"id": gid("Location", 1)}, "trackingInfo": []any{map[string]any{"company": "UPS", "number": fmt.Sprintf("1Z%d", id)}}}
		f.rest = map[string]any{"id": id, "admin_graphql_api_id": gid("Fulfillment", id), "order_id": i, "name": fmt.Sprintf("#%d.1", 1000+i), "status": "success",
			"created_at": ts(updated), "updated_at": ts(updated), "location_id": 1, "tracking_company": "UPS", "tracking_number": fmt.Sprintf("1Z%d", id)}
		r.kids[kidFulfillments] = append(r.kids[kidFulfillments], f)
	}
	return r
}

// touch gives an order a new updated_at in both shapes.
func (r *record) touch(t time.Time) {
	r.updated = t
	r.gql["updatedAt"] = ts(t)
	r.rest["updated_at"] = ts(t)
}

func simple(kind string, id int64, updated time.Time, gql, rest map[string]any) *record {
	gql["id"] = gid(kind, id)
	rest["id"] = id
	rest["admin_graphql_api_id"] = gid(kind, id)
	return &record{id: id, updated: updated, gql: gql, rest: rest, kids: map[string][]*record{}}
}

func customers(n int) []*record {
	var out []*record
	for i := int64(0); i < int64(n); i++ {
		id := 1000 + i
		u := base.Add(time.Duration(i) * time.Hour)
		out = append(out, simple("Customer", id, u,
			map[string]any{"email": fmt.Sprintf("c%d@example.com", i), "firstName": "Ann", "lastName": fmt.Sprintf("Lee %d", i), "phone": nil, "state": "ENABLED",
				"createdAt": ts(base), "updatedAt": ts(u), "numberOfOrders": fmt.Sprint(i % 9), "amountSpent": map[string]any{"amount": "99.95", "currencyCode": "USD"},
				"verifiedEmail": true, "taxExempt": false, "tags": []any{"a"}, "note": nil},
			map[string]any{"email": fmt.Sprintf("c%d@example.com", i), "first_name": "Ann", "last_name": fmt.Sprintf("Lee %d", i), "phone": nil, "state": "enabled",
				"created_at": ts(base), "updated_at": ts(u), "orders_count": i % 9, "total_spent": "99.95", "verified_email": true, "tax_exempt": false, "tags": "a", "note": nil}))
	}
	return out
}

func products(n int) []*record {
	var out []*record
	for i := int64(0); i < int64(n); i++ {
		id := 5000 + i
		u := base.Add(time.Duration(i) * time.Hour)
		p := simple("Product", id, u,
			map[string]any{"title": fmt.Sprintf("Shirt %d", i), "handle": fmt.Sprintf("shirt-%d", i), "vendor": "Acme", "productType": "Shirts", "status": "ACTIVE",
				"tags": []any{}, "createdAt": ts(base), "updatedAt": ts(u), "publishedAt": ts(base), "descriptionHtml": "<p>soft</p>", "totalInventory": 12},
			map[string]any{"title": fmt.Sprintf("Shirt %d", i), "handle": fmt.Sprintf("shirt-%d", i), "vendor": "Acme", "product_type": "Shirts", "status": "active",
				"tags": "", "created_at": ts(base), "updated_at": ts(u), "published_at": ts(base), "body_html": "<p>soft</p>"})
		for k := int64(0); k < 2; k++ {
			mid := id*10 + k
			p.kids[kidMetafields] = append(p.kids[kidMetafields], metafield(mid, "Product", id, u))
		}
		out = append(out, p)
	}
	return out
}

func metafield(id int64, owner string, ownerID int64, u time.Time) *record {
	ownerREST := strings.ToLower(owner)
	var ownerGID any
	if ownerID != 0 {
		ownerGID = ownerID
	}
	return simple("Metafield", id, u,
		map[string]any{"namespace": "custom", "key": fmt.Sprintf("k%d", id), "value": fmt.Sprintf("v%d", id), "type": "single_line_text_field",
			"ownerType": strings.ToUpper(owner), "createdAt": ts(base), "updatedAt": ts(u)},
		map[string]any{"namespace": "custom", "key": fmt.Sprintf("k%d", id), "value": fmt.Sprintf("v%d", id), "type": "single_line_text_field",
			"owner_id": ownerGID, "owner_resource": ownerREST, "created_at": ts(base), "updated_at": ts(u)})
}

func inventoryItems(n int) []*record {
	var out []*record
	for i := int64(0); i < int64(n); i++ {
		id := 7000 + i
		u := base.Add(time.Duration(i) * time.Hour)
		out = append(out, simple("InventoryItem", id, u,
			map[string]any{"sku": fmt.Sprintf("SKU-%d", i), "tracked": true, "requiresShipping": true, "countryCodeOfOrigin": nil, "harmonizedSystemCode": nil,
				"unitCost": map[string]any{"amount": "3.10", "currencyCode": "USD"}, "createdAt": ts(base), "updatedAt": ts(u)},
			map[string]any{}))
	}
	return out
}

func locations(n, levels int) []*record {
	var out []*record
	for i := int64(1); i <= int64(n); i++ {
		u := base.Add(time.Duration(i) * time.Hour)
		l := simple("Location", i, u,
			map[string]any{"name": fmt.Sprintf("Warehouse %d", i), "isActive": true, "createdAt": ts(base), "updatedAt": ts(u),
				"address": map[string]any{"address1": "1 Main St", "address2": nil, "city": "Ottawa", "province": "Ontario", "countryCode": "CA", "zip": "K1A", "phone": nil}},
			map[string]any{"name": fmt.Sprintf("Warehouse %d", i), "active": true, "created_at": ts(base), "updated_at": ts(u),
				"address1": "1 Main St", "address2": nil, "city": "Ottawa", "province": "Ontario", "country_code": "CA", "zip": "K1A", "phone": nil})
		for k := int64(0); k < int64(levels); k++ {
			item := 7000 + k
			lu := base.Add(time.Duration(k) * time.Minute)
			lv := &record{id: item, updated: lu}
			lv.gql = map[string]any{"id": fmt.Sprintf("gid://shopify/InventoryLevel/%d?inventory_item_id=%d", i*1000+k, item), "updatedAt": ts(lu),
				"item": map[string]any{"id": gid("InventoryItem", item)}, "quantities": []any{map[string]any{"name": "available", "quantity": k * i}}}
			lv.rest = map[string]any{"admin_graphql_api_id": lv.gql["id"], "inventory_item_id": item, "location_id": i, "available": k * i, "updated_at": ts(lu)}
			l.kids[kidLevels] = append(l.kids[kidLevels], lv)
		}
		out = append(out, l)
	}
	return out
}

func discounts(n int) []*record {
	var out []*record
	for i := int64(0); i < int64(n); i++ {
		id := 9000 + i
		u := base.Add(time.Duration(i) * time.Hour)
		out = append(out, simple("DiscountCodeNode", id, u,
			map[string]any{"discount": map[string]any{"__typename": "DiscountCodeBasic", "title": fmt.Sprintf("SAVE%d", i), "status": "ACTIVE",
				"startsAt": ts(base), "endsAt": nil, "createdAt": ts(base), "updatedAt": ts(u)}},
			map[string]any{"title": fmt.Sprintf("SAVE%d", i), "value_type": "percentage", "value": "-10.0", "starts_at": ts(base), "ends_at": nil,
				"created_at": ts(base), "updated_at": ts(u)}))
	}
	return out
}

func collections(n int) (custom, smart []*record) {
	for i := int64(0); i < int64(n); i++ {
		id := 8000 + i
		u := base.Add(time.Duration(i) * time.Hour)
		var rule any
		if i%2 == 1 {
			rule = map[string]any{"appliedDisjunctively": false}
		}
		r := simple("Collection", id, u,
			map[string]any{"title": fmt.Sprintf("Summer %d", i), "handle": fmt.Sprintf("summer-%d", i), "ruleSet": rule, "sortOrder": "BEST_SELLING",
				"templateSuffix": nil, "descriptionHtml": "", "productsCount": map[string]any{"count": 4}, "updatedAt": ts(u)},
			map[string]any{"title": fmt.Sprintf("Summer %d", i), "handle": fmt.Sprintf("summer-%d", i), "sort_order": "best-selling",
				"template_suffix": nil, "body_html": "", "updated_at": ts(u)})
		if rule == nil {
			custom = append(custom, r)
		} else {
			smart = append(smart, r)
		}
	}
	return custom, smart
}
