package sdktest

import (
	"slices"
	"testing"

	"github.com/sqlflow/sqlflow-host/sdk"
)

func TestSample(t *testing.T) {
	seq := func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	tests := []struct {
		name string
		xs   []int
		n    int
		want []int
	}{
		{name: "empty", xs: nil, n: 20, want: nil},
		{name: "fewer than n", xs: seq(5), n: 20, want: seq(5)},
		{name: "exactly n", xs: seq(4), n: 4, want: seq(4)},
		{name: "spread keeps first and last", xs: seq(100), n: 5, want: []int{0, 24, 49, 74, 99}},
		{name: "one", xs: seq(10), n: 1, want: []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sample(tt.xs, tt.n); !slices.Equal(got, tt.want) {
				t.Errorf("sample(%v, %d) = %v, want %v", tt.xs, tt.n, got, tt.want)
			}
		})
	}
}

func TestNamesField(t *testing.T) {
	ferrs := []sdk.FieldError{{Field: "auth.token"}, {Field: "rows[2]"}, {Field: "path"}}
	tests := []struct {
		field string
		want  bool
	}{
		{"path", true},
		{"auth", true},
		{"auth.token", true},
		{"rows", true},
		{"pat", false},
		{"au", false},
	}
	for _, tt := range tests {
		if got := namesField(ferrs, tt.field); got != tt.want {
			t.Errorf("namesField(%q) = %v, want %v", tt.field, got, tt.want)
		}
	}
}

func TestGenerateNulls(t *testing.T) {
	schema := Schema(nil)
	rec := generate(schema, 0, 84, genOptions{})
	defer rec.Release()
	for i := 1; i < int(rec.NumCols()); i++ {
		if rec.Column(i).NullN() == 0 {
			t.Errorf("column %s has no nulls", schema.Field(i).Name)
		}
	}
	all := generate(schema, 1, 3, genOptions{allNull: true})
	defer all.Release()
	for i := 1; i < int(all.NumCols()); i++ {
		if all.Column(i).NullN() != 3 {
			t.Errorf("all-null batch: column %s has %d nulls", schema.Field(i).Name, all.Column(i).NullN())
		}
	}
}
