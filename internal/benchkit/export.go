package benchkit

import (
	"bufio"
	"fmt"
	"os"
)

// ExportHeader is the header of WriteExport's CSV: Microsoft Entra's attribute names.
const ExportHeader = "objectId,userPrincipalName,givenName,surname,mail,jobTitle,department,accountEnabled,usageLocation"

// WriteExport writes a CSV export of n people in Entra's column names to path and
// returns its size. Person i has the id ExportID(i) and the address
// User<i>@acme.example; one in twenty is disabled (accountEnabled false), and the
// departments cycle through "Dept 0" to "Dept 49".
func WriteExport(path string, n int) (int64, error) {
	f, err := os.Create(path) //nolint:gosec // a benchmark's own temporary file
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, ExportHeader)
	for i := range n {
		fmt.Fprintf(w, "%s,user%d@acme.example,Given%d,Family%d,User%d@acme.example,Engineer,Dept %d,%t,DE\n",
			ExportID(i), i, i, i, i, i%50, i%20 != 0)
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return 0, err
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return 0, err
	}
	return info.Size(), f.Close()
}

// ExportID is the IdP id of person i of WriteExport's export.
func ExportID(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012d", i, i) }
