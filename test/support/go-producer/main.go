// A producer the product did not write: the official NATS Go client (nats.go's jetstream
// package) publishing a recorded stream (NDJSON {"subject","payload","headers"?} per line,
// SPEC 13) from stdin with PublishMsgAsync, as a metering producer in Go would. Tests and
// benchmarks use it to check that tally works with producers in other languages, unchanged.
//
//	go-producer -server nats://127.0.0.1:4222 [-nkey producer.nk] [-no-msg-id] [-window 4096] < stream.ndjson
//
// -nkey is the producers' identity (SPEC 14): the embedded NATS refuses anonymous clients.
//
// Prints one JSON line: {"sent","acked","errors","seconds"}; exits 1 if any publish failed.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type line struct {
	Subject string            `json:"subject"`
	Payload string            `json:"payload"`
	Headers map[string]string `json:"headers"`
}

func main() {
	server := flag.String("server", nats.DefaultURL, "NATS URL")
	nkeySeed := flag.String("nkey", "", "file holding the nkey seed to connect with")
	noMsgID := flag.Bool("no-msg-id", false, "leave Nats-Msg-Id out")
	window := flag.Int("window", 4096, "publishes awaiting their ack at most")
	flag.Parse()

	options := []nats.Option{nats.Name("go-producer")}
	if *nkeySeed != "" {
		identity, err := nats.NkeyOptionFromSeed(*nkeySeed)
		if err != nil {
			fail(err)
		}
		options = append(options, identity)
	}
	nc, err := nats.Connect(*server, options...)
	if err != nil {
		fail(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(*window))
	if err != nil {
		fail(err)
	}

	started := time.Now()
	sent, errors := 0, 0
	var futures []jetstream.PubAckFuture
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		var l line
		if err := json.Unmarshal(in.Bytes(), &l); err != nil || l.Subject == "" {
			continue
		}
		msg := nats.NewMsg(l.Subject)
		msg.Data = []byte(l.Payload)
		for k, v := range l.Headers {
			msg.Header.Set(k, v)
		}
		if *noMsgID {
			msg.Header.Del(jetstream.MsgIDHeader)
		} else {
			// <account_id>/<id> (SPEC 3): JetStream's duplicate window spans the whole stream,
			// so a bare id would make the same id on two accounts one message.
			var rec struct {
				ID        string `json:"id"`
				AccountID string `json:"account_id"`
			}
			if json.Unmarshal(msg.Data, &rec) == nil && rec.ID != "" && rec.AccountID != "" {
				msg.Header.Set(jetstream.MsgIDHeader, rec.AccountID+"/"+rec.ID)
			}
		}
		// A full window waits (a slow server is back-pressure, not a reason to drop a record).
		f, err := js.PublishMsgAsync(msg, jetstream.WithStallWait(2*time.Minute))
		if err != nil {
			fmt.Fprintln(os.Stderr, "go-producer: publish:", err)
			errors++
			continue
		}
		futures = append(futures, f)
		sent++
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
	}
	acked := 0
	for _, f := range futures {
		select {
		case <-f.Ok():
			acked++
		case err := <-f.Err():
			fmt.Fprintln(os.Stderr, "go-producer: ack:", err)
			errors++
		case <-ctx.Done():
			errors++
		}
	}
	out, _ := json.Marshal(map[string]any{"sent": sent, "acked": acked, "errors": errors, "seconds": time.Since(started).Seconds()})
	fmt.Println(string(out))
	if errors > 0 {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "go-producer:", err)
	os.Exit(2)
}
