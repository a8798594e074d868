package pageloop_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk/pageloop"
)

// roundTrip encodes and decodes g as a checkpoint would between two pages
// (possibly read by two processes).
func roundTrip(t *testing.T, g pageloop.Guard) pageloop.Guard {
	t.Helper()
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	var out pageloop.Guard
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCycles follows reads that enter a cycle of length l at page m (pages
// 1..m-1 distinct, then positions repeating every l pages), the guard
// going through JSON between every two pages: each is caught, no later
// than page 2·max(m, l) + l, naming the page whose position came back.
func TestCycles(t *testing.T) {
	for _, l := range []int{1, 2, 3, 5, 31, 32, 33, 64, 100, 257, 1000} {
		for _, m := range []int{1, 2, 7, 40, 300} {
			var g pageloop.Guard
			pos := func(page int) string {
				if page < m {
					return fmt.Sprintf("https://api.example.com/items?after=%d", page)
				}
				return fmt.Sprintf("https://api.example.com/items?after=c%d", (page-m)%l)
			}
			bound := 2*max(m, l) + l
			caught := false
			for page := 1; page <= bound; page++ {
				earlier, loops := g.Visit(pos(page))
				if loops {
					if pos(int(earlier)) != pos(page) || int(earlier) >= page {
						t.Fatalf("l=%d m=%d: page %d said to repeat page %d (%s vs %s)", l, m, page, earlier, pos(page), pos(int(earlier)))
					}
					if l <= pageloop.Window && page != m+l {
						t.Fatalf("l=%d m=%d: a short cycle caught at page %d, want its first repeat, page %d", l, m, page, m+l)
					}
					caught = true
					break
				}
				g = roundTrip(t, g)
			}
			if !caught {
				t.Fatalf("cycle of %d pages entered at page %d not caught by page %d", l, m, bound)
			}
		}
	}
}

// TestNoFalseLoops: 100,000 distinct positions are never taken for a
// loop, and the guard stays small.
func TestNoFalseLoops(t *testing.T) {
	var g pageloop.Guard
	for page := 1; page <= 100_000; page++ {
		if earlier, loops := g.Visit(fmt.Sprintf("cursor-%d", page)); loops {
			t.Fatalf("page %d taken for a repeat of page %d", page, earlier)
		}
	}
	b, _ := json.Marshal(g)
	if g.Pages != 100_000 || len(b) > 420 {
		t.Fatalf("%d pages; %d bytes of JSON: %s", g.Pages, len(b), b)
	}
}

// TestStart: a guard started at page 9 (a checkpoint without one) numbers
// the next page 10; a damaged Recent is forgotten, not fatal.
func TestStart(t *testing.T) {
	var g pageloop.Guard
	g.Start(9)
	g.Visit("a")
	g.Visit("b")
	if earlier, loops := g.Visit("a"); !loops || earlier != 10 {
		t.Fatalf("%d %v, want page 10", earlier, loops)
	}
	g.Recent = "not base64!"
	if _, loops := g.Visit("a"); loops {
		t.Fatal("a damaged guard still reported a loop through Recent")
	}
}
