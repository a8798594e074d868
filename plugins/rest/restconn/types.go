package restconn

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sqlflow/sqlflow-host/sdk/coltype"
)

// colType is a column's type: how JSON values land in Arrow. A decimal
// is its name, "decimal(p,s)".
type colType string

const (
	typeInt64     colType = "int64"
	typeFloat64   colType = "float64"
	typeBool      colType = "bool"
	typeString    colType = "string"
	typeJSON      colType = "json"
	typeTimestamp colType = "timestamp"
	typeDate      colType = "date"
)

const typeNames = "int64, decimal(p,s) (p 1 to 38, s 0 to p), float64 (alias decimal without (p,s)), bool, string, json, timestamp, date"

// decimal returns t as a decimal type, when it is one.
func (t colType) decimal() (coltype.Type, bool) {
	if !strings.HasPrefix(string(t), "decimal(") {
		return coltype.Type{}, false
	}
	ct, ok := coltype.ParseName(string(t))
	return ct, ok && ct.Kind == coltype.KindDecimal
}

func parseTypeName(s string) (colType, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "int64", "int", "integer", "bigint", "long":
		return typeInt64, true
	case "float64", "float", "double", "number", "decimal":
		return typeFloat64, true
	case "bool", "boolean":
		return typeBool, true
	case "string", "text", "varchar", "str", "utf8":
		return typeString, true
	case "json", "object", "array":
		return typeJSON, true
	case "timestamp", "datetime":
		return typeTimestamp, true
	case "date":
		return typeDate, true
	}
	if ct, ok := coltype.ParseName(s); ok && ct.Kind == coltype.KindDecimal {
		return colType(ct.String()), true
	}
	return "", false
}

// arrowType is the Arrow type of a column of type t.
func (t colType) arrowType() arrow.DataType {
	if ct, ok := t.decimal(); ok {
		return ct.Arrow()
	}
	switch t {
	case typeInt64:
		return arrow.PrimitiveTypes.Int64
	case typeFloat64:
		return arrow.PrimitiveTypes.Float64
	case typeBool:
		return arrow.FixedWidthTypes.Boolean
	case typeTimestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case typeDate:
		return arrow.FixedWidthTypes.Date32
	default:
		return arrow.BinaryTypes.String
	}
}
