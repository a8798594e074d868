// Command duckdb-peer runs SQL statements in an in-memory DuckDB database
// (through duckdb-go) with a fixed number of threads: the peer that `make
// bench-peers` measures sqlflow-host against. It is a subprocess of the
// harness so that its CPU time and peak RSS are its own.
//
//	duckdb-peer [-threads N] STATEMENT...
//
// Each statement runs in order; for each it prints the rows it affected
// (for a COPY, the rows copied) on a line of its own.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"

	_ "github.com/duckdb/duckdb-go/v2"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "duckdb-peer:", err)
		os.Exit(1)
	}
}

func run() error {
	threads := flag.Int("threads", 2, "DuckDB's threads setting")
	flag.Parse()
	if flag.NArg() == 0 {
		return fmt.Errorf("no statement given")
	}
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return fmt.Errorf("open duckdb: %w", err)
	}
	defer db.Close()
	// One connection: SET applies to the connection it runs on.
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, fmt.Sprintf("SET threads = %d", *threads)); err != nil {
		return fmt.Errorf("set threads: %w", err)
	}
	for _, stmt := range flag.Args() {
		res, err := db.ExecContext(ctx, stmt)
		if err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			n = -1
		}
		fmt.Println(n)
	}
	return nil
}
