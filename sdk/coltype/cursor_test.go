package coltype_test

import (
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk/coltype"
)

func TestCursorKeepsValuesPastTheBoundAndTracksTheGreatest(t *testing.T) {
	c := coltype.NewCursor(coltype.Int64, coltype.Value{I: 10}, true, coltype.Value{}, false)
	if c.JSON() != nil {
		t.Fatalf("JSON before any value = %s, want nil", c.JSON())
	}
	for _, tc := range []struct {
		v    int64
		keep bool
	}{{9, false}, {10, false}, {12, true}, {11, true}, {30, true}, {10, false}} {
		if got := c.Keep(coltype.Value{I: tc.v}); got != tc.keep {
			t.Errorf("Keep(%d) = %v, want %v", tc.v, got, tc.keep)
		}
	}
	if got := string(c.JSON()); got != "30" {
		t.Errorf("JSON = %s, want 30", got)
	}
	// Unbounded, resumed with a greatest value of 40: every value is kept,
	// the greatest stays 40 until a greater one comes.
	c = coltype.NewCursor(coltype.Int64, coltype.Value{}, false, coltype.Value{I: 40}, true)
	if !c.Keep(coltype.Value{I: 1}) || string(c.JSON()) != "40" {
		t.Errorf("resumed cursor: JSON = %s, want 40", c.JSON())
	}
	if !c.Keep(coltype.Value{I: 41}) || string(c.JSON()) != "41" {
		t.Errorf("JSON = %s, want 41", c.JSON())
	}
}
