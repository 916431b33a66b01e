package salesforce_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log"
	"math/big"
	"net/http/httptest"
	"time"

	"github.com/syncd-io/syncd/internal/salesforce"
	"github.com/syncd-io/syncd/internal/sfsim"
)

// Example connects with the JWT bearer flow and reads every Standard user page by
// page. Salesforce is simulated in-process by sfsim, whose connected app trusts the
// certificate of the key syncd signs with; against a real org only LoginURL, the
// consumer key, the username and the key file change.
func Example() {
	keyPEM, cert := newConnectedAppKey()
	sim, err := sfsim.New(sfsim.Options{JWTCertificate: cert})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := sim.AddUsers(
		sfsim.SeedUser{Username: "ada@acme.example.com", LastName: "Lovelace", FederationIdentifier: "E1815"},
		sfsim.SeedUser{Username: "alan@acme.example.com", LastName: "Turing", FederationIdentifier: "E1912"},
	); err != nil {
		log.Fatal(err)
	}
	org := httptest.NewServer(sim)
	defer org.Close()

	// What syncd does with its configuration: read the key file, build a token source
	// and a client.
	key, err := salesforce.ParseRSAPrivateKeyPEM(keyPEM)
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := salesforce.NewJWTSource(salesforce.JWTConfig{
		LoginURL:   org.URL, // https://login.salesforce.com for a production org
		ClientID:   sfsim.DefaultClientID,
		Username:   sfsim.DefaultUsername,
		PrivateKey: key,
	})
	if err != nil {
		log.Fatal(err)
	}
	client, err := salesforce.New(salesforce.Config{TokenSource: tokens, APIVersion: "v67.0", Timeout: 30 * time.Second})
	if err != nil {
		log.Fatal(err)
	}

	query, err := salesforce.UsersQuery("Id", "Username", "FederationIdentifier", "IsActive")
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	for page, err := range salesforce.Query[salesforce.User](ctx, client, query+" ORDER BY Username", salesforce.WithBatchSize(2000)) {
		if err != nil {
			log.Fatal(salesforce.ClassOf(err), err)
		}
		for _, u := range page.Records {
			fmt.Println(u.Username, u.FederationIdentifier, u.IsActive)
		}
	}
	usage, _ := client.Usage()
	fmt.Printf("org API usage: %d of %d\n", usage.Used, usage.Max)
	// Output:
	// ada@acme.example.com E1815 true
	// alan@acme.example.com E1912 true
	// integration@sfsim.example.com  true
	// org API usage: 1 of 100000
}

// newConnectedAppKey makes what an admin makes once with openssl: a private key (PEM,
// PKCS#8) for syncd and a self-signed certificate for the connected app.
func newConnectedAppKey() ([]byte, *x509.Certificate) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "syncd"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		log.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), cert
}
