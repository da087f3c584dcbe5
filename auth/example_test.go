package auth_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/ossproxy/ossproxy/auth"
)

func ExampleAuthenticator_Authenticate() {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	secret := auth.Secret("an-example-secret-of-32-bytes!!!")
	a, err := auth.New(context.Background(), auth.Config{
		Issuers: []auth.IssuerConfig{{
			Issuer:     "https://idp.example.com",
			Audiences:  []string{"ossproxy"},
			Algorithms: []string{"HS256"},
			HMACSecret: secret,
		}},
		TokenQueryParam: "access_token",
		Now:             func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	sign := func(exp time.Time) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"iss": "https://idp.example.com", "aud": "ossproxy", "sub": "alice",
			"exp": exp.Unix(), "groups": []string{"staff"},
		}).SignedString([]byte(secret))
		if err != nil {
			panic(err)
		}
		return tok
	}

	r := httptest.NewRequest("GET", "/home/users/alice/a.txt?access_token="+sign(now.Add(time.Hour)), nil)
	p, err := a.Authenticate(r.Context(), r, auth.Target{Bucket: "home", Key: "users/alice/a.txt"})
	fmt.Println(p.Name, p.Mode, p.Groups, p.Carrier.QueryParams, err)

	r = httptest.NewRequest("GET", "/home/users/alice/a.txt", nil)
	r.Header.Set("Authorization", "Bearer "+sign(now.Add(-time.Hour)))
	_, err = a.Authenticate(r.Context(), r, auth.Target{Bucket: "home", Key: "users/alice/a.txt"})
	fmt.Println(auth.StatusCode(err), auth.ErrorCode(err))
	// Output:
	// alice jwt [staff] [access_token] <nil>
	// 401 InvalidToken.Expired
}
