package e2e

import (
	"debug/elf"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// No Docker engine runs on the CI machines, so this proves what it can: the
// Dockerfile's build command is the script that built `binary`, the result
// is static, and it serves /api/health and passes its own HEALTHCHECK.
func TestDockerfileBuildsAStaticBinaryThatServes(t *testing.T) {
	df, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	src := string(df)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^RUN \./scripts/build-static\.sh /out/pregon`),
		regexp.MustCompile(`(?m)^USER 65532:65532$`),
		regexp.MustCompile(`(?m)^VOLUME /pb_data$`),
		regexp.MustCompile(`(?m)^HEALTHCHECK .*CMD \["/pregon", "healthcheck"\]$`),
		regexp.MustCompile(`(?m)^CMD \["serve", "--http=0\.0\.0\.0:8090", "--dir=/pb_data"\]$`),
		regexp.MustCompile(`(?m)^FROM scratch$`),
	} {
		if !want.MatchString(src) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}

	f, err := elf.Open(binary)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("binary has an ELF interpreter: it is dynamically linked and would not run FROM scratch")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("binary links shared libraries %v", libs)
	}

	s := StartServer(t, "")
	out, err := exec.Command(binary, "healthcheck", "--url", s.URL+"/api/health").CombinedOutput()
	if err != nil {
		t.Fatalf("healthcheck failed against a live server: %v\n%s", err, out)
	}
	s.Kill()
	out, err = exec.Command(binary, "healthcheck", "--url", s.URL+"/api/health").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "health check failed") {
		t.Fatalf("healthcheck must fail once the server is gone, got %v: %s", err, out)
	}
}
