package importer_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/ops/importer"
)

// benchRows is the size of the benchmark's files: the customer master of
// that many customers (two events a row), then as many internet-banking
// profile changes (one event a row).
const benchRows = 100_000

// BenchmarkImport imports real files of benchRows rows into a real store
// with sealing (each customer's data key created on their first row), and
// reports each file's rate in events appended per second. Run it once:
//
//	go test ./ops/importer -run '^$' -bench Import -benchtime 1x
func BenchmarkImport(b *testing.B) {
	dir := b.TempDir()
	master, changes := filepath.Join(dir, "customers.csv"), filepath.Join(dir, "internet.csv")
	writeRows(b, master, "customerId,ref,version,observedAt,verified,branchId,name,birthDate,phone,email,address", func(i int) string {
		return fmt.Sprintf("C%07d,CIF%09d,1,2026-10-01T09:00:00+09:00,%t,B%03d,고객%d,19%02d-%02d-%02d,010-%04d-%04d,c%d@example.com,서울특별시 강남구 테헤란로 %d",
			i, i, i%2 == 0, i%200+1, i, 50+i%50, 1+i%12, 1+i%28, i%10000, i*7%10000, i, i%300+1)
	})
	writeRows(b, changes, "customerId,ref,version,observedAt,verified,email,phone", func(i int) string {
		return fmt.Sprintf("C%07d,IB-C%07d,2,2026-10-20T21:05:00+09:00,true,new%d@example.com,010-%04d-%04d", i, i, i, i*3%10000, i%10000)
	})
	for _, store := range []struct {
		name string
		open func(testing.TB) *ledger
	}{{"embedded", embedded}, {"bolt", onBolt}, {"postgres", onPostgres}} {
		b.Run(store.name, func(b *testing.B) {
			for b.Loop() {
				l := store.open(b)
				for _, f := range []struct {
					system, path string
					kind         importer.Kind
				}{{"core", master, importer.Customers}, {"internet", changes, importer.Profiles}} {
					rate := benchImport(b, l, f.system, f.kind, f.path)
					b.ReportMetric(rate, string(f.kind)+"-events/s")
				}
			}
		})
	}
}

// benchImport imports one file into l and returns its rate.
func benchImport(b *testing.B, l *ledger, system string, kind importer.Kind, path string) float64 {
	in, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	rej, err := importer.CreateRejects(path + ".rejects.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	defer rej.Close()
	cfg := importer.Config{System: system, Kind: kind, Format: importer.CSV, Rejects: rej,
		Seal: func(id string) func(events.Personal) error { return l.sealer.SealFor(b.Context(), id) }}
	start := time.Now()
	st, err := importer.Run(b.Context(), cfg, l.store, in)
	el := time.Since(start)
	if err != nil || st.Rejected != 0 || st.Appended != st.Events {
		b.Fatalf("%s: %+v, %v", path, st, err)
	}
	return float64(st.Appended) / el.Seconds()
}

// writeRows writes a CSV file of a header and benchRows rows.
func writeRows(b *testing.B, path, header string, row func(i int) string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, header)
	for i := 1; i <= benchRows; i++ {
		fmt.Fprintln(w, row(i))
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}
