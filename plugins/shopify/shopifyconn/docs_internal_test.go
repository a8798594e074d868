package shopifyconn

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docTables renders each stream's column table as docs/connectors/shopify.md
// has it.
func docTables() map[string]string {
	out := map[string]string{}
	for _, o := range catalog("shop") {
		var b strings.Builder
		b.WriteString("| column | type | GraphQL | REST |\n|---|---|---|---|\n")
		for _, c := range o.Columns {
			g, r := c.GQL, c.REST
			if g == "" {
				g = "(null)"
			} else {
				g = "`" + g + "`"
			}
			if r == "" {
				r = "(null)"
			} else {
				r = "`" + r + "`"
			}
			switch c.Conv {
			case convLower:
				g += " lower-cased"
			case convJoin:
				g += " joined with \", \""
			case convSmart:
				g = "`ruleSet`: smart when set, else custom"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", c.Name, c.Type, g, r)
		}
		out[o.Name] = b.String()
	}
	return out
}

// TestDocsListEveryColumn checks that the connector's page documents every
// stream's columns exactly as the catalog has them. Run with
// SHOPIFY_DOC_TABLES=1 to print the tables.
func TestDocsListEveryColumn(t *testing.T) {
	tables := docTables()
	if os.Getenv("SHOPIFY_DOC_TABLES") == "1" {
		for _, o := range catalog("shop") {
			fmt.Printf("### %s\n\n%s\n", o.Name, tables[o.Name])
		}
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "connectors", "shopify.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name, table := range tables {
		if !strings.Contains(string(doc), table) {
			t.Errorf("docs/connectors/shopify.md lacks the column table of %s, or it is stale; print the tables with SHOPIFY_DOC_TABLES=1 go test -run TestDocsListEveryColumn ./plugins/shopify/shopifyconn", name)
		}
	}
}
