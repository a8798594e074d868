package csvscan_test

import (
	"fmt"
	"io"
	"strings"

	"github.com/sqlflow/sqlflow-host/sdk/csvscan"
)

func ExampleScanner() {
	in := "id,note\r\n1,\"a, \"\"quoted\"\"\nnote\"\n\n2,plain\n"
	s := csvscan.New(strings.NewReader(in), csvscan.Options{Delimiter: ',', Quote: '"', Encoding: csvscan.UTF8}, 0, 1)
	for {
		rec, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("line %d: %q quoted %v; next record at byte %d\n", rec.Line, rec.Strings(), rec.Quoted, s.Offset())
	}
	// Output:
	// line 1: ["id" "note"] quoted [false false]; next record at byte 9
	// line 2: ["1" "a, \"quoted\"\nnote"] quoted [false true]; next record at byte 32
	// line 5: ["2" "plain"] quoted [false false]; next record at byte 41
}
