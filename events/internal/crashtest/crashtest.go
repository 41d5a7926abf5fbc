// Package crashtest runs the test binary again as a child process, for the
// embedded stores' kill -9 tests: a writer that is killed with SIGKILL at
// a moment of the test's choosing, and a child that tries one thing and
// exits. The test's TestMain gives the child its part, chosen by an
// environment variable.
package crashtest

import (
	"bufio"
	"math/rand/v2"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// child returns the command running this test binary again, with no test
// selected and env (NAME=value) added to the environment.
func child(env string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env)
	cmd.Stderr = os.Stderr
	return cmd
}

// KillAfter starts the child with env and passes each line it prints to
// note until wait has passed since its first line, then kills it with
// SIGKILL, passes the lines it printed before it died (still in the pipe)
// and waits for it. The wait starts at the first line, not at the start:
// a loaded machine may take longer than any wait to start the child, and
// a kill before the child has acknowledged anything proves nothing. It
// fails t if the child exits before it is killed.
func KillAfter(t testing.TB, env string, wait time.Duration, note func(line string)) {
	t.Helper()
	cmd := child(env)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		for sc := bufio.NewScanner(stdout); sc.Scan(); {
			lines <- sc.Text()
		}
	}()
	var timer <-chan time.Time // nil until the first line
	for waiting := true; waiting; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the child exited before it was killed: %v", cmd.Wait())
			}
			note(l)
			if timer == nil {
				timer = time.After(wait)
			}
		case <-timer:
			waiting = false
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for l := range lines {
		note(l)
	}
	_ = cmd.Wait()
}

// Output runs the child with env to its end and returns what it printed.
func Output(t testing.TB, env string) string {
	t.Helper()
	out, err := child(env).Output()
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	return string(out)
}

// Rounds returns n, or 3 under -short, and the random source of a kill
// test's moments, seeded from the clock (the seed is logged, to replay a
// failure).
func Rounds(t testing.TB, n int) (int, *rand.Rand) {
	if testing.Short() {
		n = 3
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	return n, rand.New(rand.NewPCG(uint64(seed), 7))
}
