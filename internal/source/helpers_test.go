package source

import (
	"bufio"
	"fmt"
	"os"
	"testing"
)

// writeCSV writes a synthetic export of n people in Entra's column names.
func writeCSV(tb testing.TB, path string, n int) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "objectId,userPrincipalName,givenName,surname,mail,jobTitle,department,accountEnabled")
	for i := range n {
		fmt.Fprintf(w, "%08d-0000-4000-8000-%012d,user%d@acme.example,Given%d,Family%d,User%d@acme.example,Engineer,Dept %d,%t\n",
			i, i, i, i, i, i, i%50, i%20 != 0)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}
