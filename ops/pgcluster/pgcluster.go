// Package pgcluster starts throwaway PostgreSQL clusters from the machine's
// own binaries, for benchmarks (`dangol bench --store postgres`) and, through
// ops/pgtest, for tests: initdb and postgres under a temporary
// directory, listening on a free 127.0.0.1 port and a private socket
// directory, run as the postgres user when the caller is root (PostgreSQL
// refuses to run as root). The postmaster is started with a parent-death
// signal, so it stops by itself if the test process dies; Remove stops it
// and deletes the directory.
//
// Binaries are looked up in $PG_BIN, then `pg_config --bindir` on PATH, then
// /usr/lib/postgresql/<newest>/bin; without them Start returns ErrNoPostgres.
//
// The package does not import testing, so the binary can link it; the test
// helpers (a cluster shared by a test binary, a database per test) are in
// ops/pgtest.
//
// Settings are PostgreSQL's defaults (fsync on), except that the server
// listens only on 127.0.0.1, authentication is trust on loopback and
// max_connections is 400.
package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is one throwaway cluster.
type Server struct {
	bin  string // directory of initdb, postgres
	dir  string // the temporary directory: data/, sock/, postgres.log
	port int
	cred *syscall.Credential // the postgres user's, when running as root

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// ErrNoPostgres means no PostgreSQL binaries were found.
var ErrNoPostgres = errors.New("pgcluster: no PostgreSQL binaries (set PG_BIN, or install postgresql)")

// BinDir finds the PostgreSQL server binaries.
func BinDir() (string, error) {
	if d := os.Getenv("PG_BIN"); d != "" {
		if exists(filepath.Join(d, "postgres")) {
			return d, nil
		}
		return "", fmt.Errorf("pgcluster: PG_BIN=%s has no postgres binary", d)
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if exists(filepath.Join(d, "postgres")) && exists(filepath.Join(d, "initdb")) {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if exists(filepath.Join(d, "postgres")) && exists(filepath.Join(d, "initdb")) {
			return d, nil
		}
	}
	return "", ErrNoPostgres
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// Start creates a cluster in a new temporary directory and starts it.
func Start() (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "dangol-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir}
	if err := s.init(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		s.port, err = freePort()
		if err == nil {
			err = s.Start()
		}
		if err == nil || attempt == 3 {
			break
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func (s *Server) init() error {
	if err := os.Chmod(s.dir, 0o755); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("pgcluster: running as root needs a postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(s.dir, uid, gid); err != nil {
			return err
		}
	}
	if err := os.Mkdir(s.sockDir(), 0o700); err != nil {
		return err
	}
	if s.cred != nil {
		if err := os.Chown(s.sockDir(), int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return err
		}
	}
	// --no-sync only skips initdb's own final fsync of the template files;
	// the server itself runs with PostgreSQL's defaults, fsync on.
	cmd := exec.Command(filepath.Join(s.bin, "initdb"), "-D", s.dataDir(), "-U", "postgres",
		"-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgcluster: initdb: %v\n%s", err, out)
	}
	return nil
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }
func (s *Server) sockDir() string { return filepath.Join(s.dir, "sock") }

// Port is the TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// URL returns a connection string for database db as the postgres superuser.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// maxConnections is the throwaway cluster's max_connections (PostgreSQL's
// default is 100): a test binary shares one cluster among all its tests, and
// each server of a test holds pools of its own (the log's, up to 16, and
// its LISTEN session, the read store's, the keys'), so a package whose
// servers stop while their last connections are still closing reached 100
// (the API suite on PostgreSQL: "sorry, too many clients already").
const maxConnections = 400

// Start starts the postmaster (again, after Stop) and waits until it accepts
// connections.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	logf, err := os.OpenFile(filepath.Join(s.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", s.dataDir(), "-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+s.sockDir(),
		"-c", "max_connections="+strconv.Itoa(maxConnections))
	cmd.Stdout, cmd.Stderr = logf, logf
	// The parent-death signal is tied to the thread that forks: start and
	// wait from one goroutine locked to its thread for the child's lifetime.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			close(exited)
			return
		}
		started <- nil
		cmd.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("pgcluster: start postgres: %w", err)
	}
	s.cmd, s.exited = cmd, exited
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, s.URL("postgres"))
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-exited:
			s.cmd = nil
			return fmt.Errorf("pgcluster: postgres exited at start; log:\n%s", s.logTail())
		case <-ctx.Done():
			s.stopLocked(syscall.SIGQUIT)
			return fmt.Errorf("pgcluster: postgres did not accept connections within 60s: %v; log:\n%s", err, s.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Stop shuts the server down (fast shutdown: sessions are ended, committed
// data is kept) and waits for it to exit. Start brings it back.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked(syscall.SIGINT)
}

// Kill stops the server the way a crash or power cut would (immediate
// shutdown: recovery runs at the next start).
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked(syscall.SIGQUIT)
}

func (s *Server) stopLocked(sig syscall.Signal) {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(sig)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
	s.cmd = nil
}

// Remove stops the server and deletes its directory.
func (s *Server) Remove() {
	s.Kill()
	os.RemoveAll(s.dir)
}

// CreateDatabase creates a fresh, empty database and returns its URL.
func (s *Server) CreateDatabase(ctx context.Context, name string) (string, error) {
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("pgcluster: create database %s: %w", name, err)
	}
	return s.URL(name), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
