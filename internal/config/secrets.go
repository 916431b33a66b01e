package config

import (
	"encoding/pem"

	"github.com/syncd-io/syncd/internal/secret"
)

// Secrets are the credentials the configuration points at, read by LoadSecrets.
type Secrets struct {
	Salesforce AuthSecrets
	// AdminToken is the bearer token the /v1 routes require; zero when
	// server.token_file is unset.
	AdminToken secret.Secret
	// EventsToken is the bearer token POST /v1/events requires; zero when
	// server.events_token_file is not set (the admin token then serves).
	EventsToken secret.Secret
}

// AuthSecrets are one org's OAuth credentials; only the method's own is set.
type AuthSecrets struct {
	// PrivateKey is the PEM text of the JWT signing key (jwt).
	PrivateKey secret.Secret
	// ClientSecret is the connected app's consumer secret (client_credentials).
	ClientSecret secret.Secret
}

// LoadSecrets reads every secret the configuration names, from its file or
// environment variable, and reports every one that is missing, empty or malformed as
// an *Error, each problem at the key that names it. It is apart from Load so that a
// configuration can be checked where the secrets are not mounted, and so that
// `syncd check-config` can say which file is missing.
func (c *Config) LoadSecrets(lookupEnv LookupEnv) (Secrets, error) {
	var ps problems
	var s Secrets
	s.Salesforce = c.Salesforce.Auth.loadSecrets(&ps, "salesforce.auth", lookupEnv.orUnset())
	if c.Server.TokenFile != "" {
		s.AdminToken = readSecretFile(&ps, "server.token_file", c.Server.TokenFile)
	}
	if c.Server.EventsTokenFile != "" {
		s.EventsToken = readSecretFile(&ps, "server.events_token_file", c.Server.EventsTokenFile)
	}
	if err := ps.err(c.where); err != nil {
		return Secrets{}, err
	}
	return s, nil
}

func (a *Auth) loadSecrets(ps *problems, path string, lookupEnv LookupEnv) AuthSecrets {
	var s AuthSecrets
	switch {
	case a.Method == AuthJWT && a.PrivateKeyFile != "":
		keyPathName := keyPath(path, "private_key_file")
		s.PrivateKey = readSecretFile(ps, keyPathName, a.PrivateKeyFile)
		if !s.PrivateKey.IsZero() {
			if block, _ := pem.Decode([]byte(s.PrivateKey.Reveal())); block == nil {
				ps.add(keyPathName, "%s holds no PEM block; want the private key that signs the connected app's JWTs", a.PrivateKeyFile)
			}
		}
	case a.Method == AuthClientCredentials && a.ClientSecretFile != "":
		s.ClientSecret = readSecretFile(ps, keyPath(path, "client_secret_file"), a.ClientSecretFile)
	case a.Method == AuthClientCredentials && a.ClientSecretEnv != "":
		s.ClientSecret = readSecretEnv(ps, keyPath(path, "client_secret_env"), a.ClientSecretEnv, lookupEnv)
	}
	return s
}

func readSecretFile(ps *problems, path, file string) secret.Secret {
	s, err := secret.FromFile(file)
	if err != nil {
		*ps = append(*ps, Problem{Path: path, Message: err.Error(), Err: err})
	}
	return s
}

// readSecretEnv reads a secret through lookupEnv, never the process environment
// behind the caller's back.
func readSecretEnv(ps *problems, path, name string, lookupEnv LookupEnv) secret.Secret {
	v, ok := lookupEnv(name)
	switch {
	case !ok:
		ps.add(path, "environment variable %s is not set", name)
	case v == "":
		ps.add(path, "environment variable %s is empty", name)
	}
	return secret.New(v)
}
