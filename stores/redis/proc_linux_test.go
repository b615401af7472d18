package redisstore_test

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes a redis-server end with the test binary, even when
// the binary crashes before its cleanups run.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
