// Package e2e starts the real pregon binary, built exactly as the Dockerfile
// builds it, and drives it over real HTTP.
package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the path of the pregon binary built once for the whole package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pregon-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "pregon")
	build := exec.Command("./scripts/build-static.sh", binary)
	build.Dir = ".."
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building pregon:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Server is one running pregon process.
type Server struct {
	URL     string
	DataDir string
	cmd     *exec.Cmd
	log     *syncBuffer
	done    chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StartServer runs `pregon serve` on a free loopback port with dataDir (a new
// temp dir when empty) and waits until /api/health answers.
func StartServer(t testing.TB, dataDir string, env ...string) *Server {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	port := freePort(t)
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), DataDir: dataDir, log: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(binary, "serve", fmt.Sprintf("--http=127.0.0.1:%d", port), "--dir="+dataDir)
	s.cmd.Env = append(append(os.Environ(), "PREGON_SECRET_KEY=e2e-secret-key-0123456789abcdef"), env...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.Kill() })
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(s.URL + "/api/health")
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				return s
			}
		}
		select {
		case <-s.done:
			t.Fatalf("pregon exited before answering /api/health:\n%s", s.log.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("pregon did not answer /api/health within 90 s:\n%s", s.log.String())
	return nil
}

// Kill ends the process with SIGKILL, as a crash would.
func (s *Server) Kill() {
	if s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.done
	}
}

// Stop sends SIGTERM and waits for a clean exit.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("pregon did not stop within 60 s of SIGTERM:\n%s", s.log.String())
	}
}

// Log returns what the process printed so far.
func (s *Server) Log() string { return s.log.String() }
