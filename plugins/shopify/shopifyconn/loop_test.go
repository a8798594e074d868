package shopifyconn_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sqlflow/sqlflow-host/plugins/shopify/shopifytest"
	"github.com/sqlflow/sqlflow-host/sdk"
	"github.com/sqlflow/sqlflow-host/sdk/errclass"
)

// circles makes shop's cursors of the list root go round: "self" answers
// page 2's request with its own cursor (the page repeats forever); "pair"
// answers page 3 with the cursor of page 2 (pages 2 and 3 alternate).
func circles(shop *shopifytest.Shop, root, kind string) {
	var mu sync.Mutex
	var given []string // the cursors answered, in order
	shop.RewriteCursors(func(r, after, next string) string {
		if r != root {
			return next
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case after == "":
			given = []string{next}
		case kind == "self":
			next = after
		case kind == "pair" && len(given) >= 2 && after == given[1]:
			next = given[0]
		default:
			given = append(given, next)
		}
		return next
	})
}

// readFresh reads stream to its end or its first error, every page with a
// newly configured connector from the last checkpoint (a plugin restarted
// between every two pages), and returns the pages read and the error.
func readFresh(t *testing.T, shop *shopifytest.Shop, extra map[string]any, stream string) (int, error) {
	t.Helper()
	req := sdk.ReadRequest{Stream: stream}
	for n := 0; n < 500; n++ {
		p, err := configure(t, shop, extra).ReadPage(ctx(t), req)
		if err != nil {
			return n, err
		}
		p.Records.Release()
		if p.Done {
			return n + 1, nil
		}
		req.Checkpoint = p.Checkpoint
	}
	t.Fatal("no end and no error after 500 pages")
	return 0, nil
}

// TestCursorsInCircles: a shop that repeats a cursor (GraphQL endCursor,
// REST page_info), for a top-level list (orders) and for one parent's
// children (a location's inventory levels), fails the read PERMANENT at
// the first cursor it gave before, naming the pages, with every page read
// by a fresh connector; before the guard the read never ended.
func TestCursorsInCircles(t *testing.T) {
	cases := []struct {
		api, stream, root, kind, list string
		pages, earlier                int // the page the repeated cursor would read, and the page it was read for
	}{
		{"graphql", "orders", "orders", "self", "the orders", 3, 2},
		{"graphql", "orders", "orders", "pair", "the orders", 4, 2},
		{"rest", "orders", "orders.json", "self", "the orders", 3, 2},
		{"rest", "orders", "orders.json", "pair", "the orders", 4, 2},
		{"graphql", "inventory_levels", "location.inventoryLevels", "self", "the inventory_levels of location", 3, 2},
		{"rest", "inventory_levels", "inventory_levels.json", "pair", "the inventory_levels of location", 4, 2},
	}
	for _, c := range cases {
		t.Run(c.api+"/"+c.stream+"/"+c.kind, func(t *testing.T) {
			shop := newShop(t, shopifytest.Options{Orders: 40})
			circles(shop, c.root, c.kind)
			pages, err := readFresh(t, shop, map[string]any{"api": c.api, "page_size": 3}, c.stream)
			if errclass.Of(err) != errclass.Permanent || err == nil || !strings.Contains(err.Error(), "go round in circles") {
				t.Fatalf("after %d pages: %v (%v)", pages, err, errclass.Of(err))
			}
			for _, want := range []string{"stream \"" + c.stream + "\"", c.list, "cursor for page " + itoa(c.pages), "the one page " + itoa(c.earlier) + " was read with"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error lacks %q: %v", want, err)
				}
			}
			t.Logf("after %d pages: %v", pages, err)
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
