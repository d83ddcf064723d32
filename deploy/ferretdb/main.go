// Command tally-ferretdb runs FerretDB v1 (MongoDB wire protocol) embedded in one small
// binary, so `tally up` needs no MongoDB installation: the SQLite handler keeps its data
// in one directory under the tally data folder.
//
// It prints exactly one line to stdout, `ready mongodb://HOST:PORT/`, once the listener
// is bound (the port may be 0 to let the kernel pick one), logs to stderr, and runs until
// SIGTERM or SIGINT, then exits 0 after a clean shutdown.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on (port 0 picks a free one)")
	handler := flag.String("handler", "sqlite", "backend handler: sqlite or postgresql")
	sqliteURL := flag.String("sqlite-url", "file:data/", "SQLite URI of the data directory (must end with /)")
	postgresqlURL := flag.String("postgresql-url", "", "PostgreSQL URL for the postgresql handler")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn or error")
	shutdownTimeout := flag.Duration("shutdown-timeout", 10*time.Second,
		"how long to wait for a clean shutdown before exiting anyway")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: parseLevel(*logLevel)}))

	if *handler == "sqlite" {
		// FerretDB treats the URL as a directory and refuses to start if it is missing.
		if err := ensureSQLiteDir(*sqliteURL); err != nil {
			fatal(logger, "cannot create sqlite directory", err)
		}
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listenAddr},
		Logger:        logger,
		Handler:       *handler,
		PostgreSQLURL: *postgresqlURL,
		SQLiteURL:     *sqliteURL,
	})
	if err != nil {
		fatal(logger, "cannot start FerretDB", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := f.Run(ctx); err != nil {
			logger.Error("FerretDB stopped with an error", slog.Any("error", err))
		}
	}()

	// New has already bound the socket, so MongoDBURI does not block and connections
	// made from now on are accepted as soon as Run's accept loop starts.
	fmt.Printf("ready %s\n", f.MongoDBURI())

	select {
	case <-done:
		// Run returned without a signal: the listener failed.
		logger.Error("FerretDB exited unexpectedly")
		os.Exit(1)
	case <-ctx.Done():
	}

	// A multi-statement update can wedge the SQLite handler (see SPEC section 11) so that
	// Run never returns; do not let that turn a stop into a hang for our caller.
	select {
	case <-done:
		os.Exit(0)
	case <-time.After(*shutdownTimeout):
		logger.Error("clean shutdown timed out, exiting", slog.Duration("timeout", *shutdownTimeout))
		os.Exit(1)
	}
}

func parseLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return slog.LevelWarn
	}
	return l
}

// ensureSQLiteDir creates the directory of a `file:` URI, decoded the way FerretDB reads it.
func ensureSQLiteDir(uri string) error {
	u, err := url.Parse(uri)
	if err != nil {
		return err
	}
	dir := u.Path
	if dir == "" {
		dir = u.Opaque // file:relative/dir/
	}
	if dir == "" {
		return nil
	}
	return os.MkdirAll(dir, 0o755)
}

func fatal(logger *slog.Logger, msg string, err error) {
	logger.Error(msg, slog.Any("error", err))
	os.Exit(1)
}
