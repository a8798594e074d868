package s3conn

import (
	"strings"
)

// isNull reports whether a csv field is one of csv_null_values. The
// csv reader does not tell a quoted field from an unquoted one, so
// "" and an empty field are alike.
func isNull(cfg config, v string) bool {
	for _, n := range cfg.NullValues {
		if v == n {
			return true
		}
	}
	return false
}

// compressed reports whether the object key is read through gzip: with
// compression auto when the key ends in .gz (any case).
func compressed(cfg config, key string) bool {
	switch cfg.Compression {
	case "gzip":
		return true
	case "none":
		return false
	}
	return strings.HasSuffix(strings.ToLower(key), ".gz")
}

// sourceFormatOf is formatOf for source objects: the extension before a
// trailing .gz names the format (orders.csv.gz is csv).
func sourceFormatOf(key string) string {
	return formatOf(strings.TrimSuffix(strings.ToLower(key), ".gz"))
}
