// estargzconv: converts a tar layer (gzip or not) to eStargz with the
// upstream estargz library; prints the TOC digest and the diff_id.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/containerd/stargz-snapshotter/estargz"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: estargzconv IN.tar OUT [CHUNKSIZE] [PREFETCH...]")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	st, _ := f.Stat()
	var opts []estargz.Option
	if len(os.Args) > 3 {
		var cs int
		fmt.Sscanf(os.Args[3], "%d", &cs)
		opts = append(opts, estargz.WithChunkSize(cs))
	}
	if len(os.Args) > 4 {
		opts = append(opts, estargz.WithPrioritizedFiles(os.Args[4:]))
	}
	rc, err := estargz.Build(io.NewSectionReader(f, 0, st.Size()), opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := os.Create(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := io.Copy(out, rc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rc.Close()
	out.Close()
	fmt.Printf("%s %s\n", rc.TOCDigest(), rc.DiffID())
}
