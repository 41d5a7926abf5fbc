package export_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// catalogExamples reads the table examples of events/catalog_test.go (one
// valid data of every registered type) from its source: a test file of
// another package cannot be imported, and a copy would fall behind. The
// string constants its values are built from may be in any Go file of
// events.
func catalogExamples(t testing.TB) map[string]string {
	t.Helper()
	files, err := filepath.Glob("../*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in ../: %v", err)
	}
	fset := token.NewFileSet()
	consts := map[string]ast.Expr{}
	var table *ast.CompositeLit
	var added []*ast.AssignStmt // examples["Type"] = ... in a test file's init (catalog_<part>_test.go)
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "init" && fn.Recv == nil && fn.Body != nil {
				for _, st := range fn.Body.List {
					if a, ok := st.(*ast.AssignStmt); ok && len(a.Lhs) == 1 && len(a.Rhs) == 1 {
						if ix, ok := a.Lhs[0].(*ast.IndexExpr); ok {
							if id, ok := ix.X.(*ast.Ident); ok && id.Name == "examples" {
								added = append(added, a)
							}
						}
					}
				}
				continue
			}
			g, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range g.Specs {
				v, ok := spec.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for i, name := range v.Names {
					switch {
					case g.Tok == token.CONST && i < len(v.Values):
						consts[name.Name] = v.Values[i]
					case g.Tok == token.VAR && name.Name == "examples" && filepath.Base(f) == "catalog_test.go":
						table, _ = v.Values[i].(*ast.CompositeLit)
					}
				}
			}
		}
	}
	if table == nil {
		t.Fatal("no examples table in events/catalog_test.go")
	}
	var eval func(ast.Expr) string
	eval = func(x ast.Expr) string {
		switch x := x.(type) {
		case *ast.BasicLit:
			s, err := strconv.Unquote(x.Value)
			if err != nil {
				t.Fatalf("%s: %v", fset.Position(x.Pos()), err)
			}
			return s
		case *ast.Ident:
			if c, ok := consts[x.Name]; ok {
				return eval(c)
			}
		case *ast.BinaryExpr:
			if x.Op == token.ADD {
				return eval(x.X) + eval(x.Y)
			}
		case *ast.ParenExpr:
			return eval(x.X)
		}
		t.Fatalf("%s: cannot evaluate %T", fset.Position(x.Pos()), x)
		return ""
	}
	out := map[string]string{}
	for _, el := range table.Elts {
		kv := el.(*ast.KeyValueExpr)
		out[eval(kv.Key)] = eval(kv.Value)
	}
	for _, a := range added {
		out[eval(a.Lhs[0].(*ast.IndexExpr).Index)] = eval(a.Rhs[0])
	}
	for _, typ := range events.Types() {
		if _, ok := out[typ]; !ok {
			t.Errorf("registered type %s has no example in events/catalog_test.go (nor in an init of another events test file)", typ)
		}
	}
	return out
}

// exampleLog returns a log of every example, each twice (occurredAt,
// correlation and causation set, then unset, with a system actor), chained
// in its stream, at KurrentDB-style positions (commit/prepare pairs, every
// other one with commit == prepare).
func exampleLog(t testing.TB) []events.Envelope {
	ex := catalogExamples(t)
	types := slices.Sorted(maps.Keys(ex))
	heads := map[string]events.Envelope{}
	var log []events.Envelope
	for i, typ := range types {
		for _, set := range []bool{true, false} {
			n := len(log) + 1
			e := events.Envelope{ID: events.NewID(), Stream: streamOf(typ), Type: typ, Schema: 1 + i%3,
				RecordedAt: eventstest.Epoch.Add(time.Duration(n)*time.Second + time.Duration(n)), // nanoseconds too
				Actor:      events.System("sealer"), Data: []byte(ex[typ]),
				Position: events.Position{Commit: uint64(n) * 1000, Prepare: uint64(n)*1000 - uint64(n%2)*17}}
			if set {
				e.OccurredAt = eventstest.Epoch.Add(-time.Duration(n) * time.Hour)
				e.Actor = events.Actor{ID: "R017", Role: "rep"}
				e.CorrelationID, e.CausationID = "corr-"+strconv.Itoa(n), events.NewID().String()
			}
			if h, ok := heads[e.Stream]; ok {
				e.Version, e.PrevHash = h.Version+1, h.Hash
			}
			events.EncodeRecord(&e)
			log = append(log, e)
			heads[e.Stream] = e
		}
	}
	return log
}

// streamOf is a stream an event of typ could be in.
func streamOf(typ string) string {
	switch typ {
	case "LedgerSealed":
		return events.LedgerStream
	case "StaffRegistered", "StaffRoleChanged", "TokenIssued", "TokenRevoked":
		return "staff-R017"
	}
	return "customer-C1001"
}

// exampleOf is the first event of typ in exampleLog: occurredAt,
// correlation and causation set, a staff actor, a commit/prepare position.
func exampleOf(t testing.TB, typ string) events.Envelope {
	for _, e := range exampleLog(t) {
		if e.Type == typ {
			return e
		}
	}
	t.Fatalf("no example of %s", typ)
	return events.Envelope{}
}
