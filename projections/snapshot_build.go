package projections

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"runtime/debug"
	"sync"
)

// snapshotBuild returns the name of the build of the running binary that
// a snapshot records and a restore compares (SnapshotInfo.Build): a
// release may change what a fold makes of past events without changing a
// fold's type, which the fingerprint alone would not tell. It is the
// module's version when the binary was built from a tagged module, else
// the commit it was built from (a clean checkout), else the SHA-256 of the
// executable (a build from modified sources, or without version control
// information, as test binaries are). A variable so that tests can stand
// for another build.
var snapshotBuild = sync.OnceValue(buildName)

func buildName() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return "module " + v
		}
		var rev string
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if rev != "" && !modified {
			return "vcs " + rev
		}
	}
	if exe, err := os.Executable(); err == nil {
		if f, err := os.Open(exe); err == nil {
			defer f.Close()
			h := sha256.New()
			if _, err := io.Copy(h, f); err == nil {
				return "executable " + hex.EncodeToString(h.Sum(nil)[:16])
			}
		}
	}
	return "unknown"
}
