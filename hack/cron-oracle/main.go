// The CronJob controller's schedule (robfig/cron v3, as kube-controller-manager uses it):
// reads "zone|spec|epoch" lines, prints the next fire (epoch seconds), -1 or ERR. Used by
// hack/cron-oracle/run to compare src/controller/cron.c with the real thing.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// stdin: "zone|spec|unixseconds" lines; stdout: next unix seconds (or -1 / ERR)
func main() {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), "|", 3)
		var t int64
		fmt.Sscan(f[2], &t)
		spec := f[1]
		if f[0] != "" {
			spec = "TZ=" + f[0] + " " + spec
		}
		s, err := cron.ParseStandard(spec)
		if err != nil {
			fmt.Println("ERR")
			continue
		}
		n := s.Next(time.Unix(t, 0).UTC())
		if n.IsZero() {
			fmt.Println(-1)
		} else {
			fmt.Println(n.Unix())
		}
	}
}
