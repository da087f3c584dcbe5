package signer

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// TestSignatureComparisonsConstantTime pins, at the code level, that
// verify.go compares signatures and security tokens only with hmac.Equal:
// no == or != has an operand that names a signature or token, and each
// verifier (V1 header, V1 query, V4, token) calls hmac.Equal.
func TestSignatureComparisonsConstantTime(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "verify.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	secretish := func(e ast.Expr) bool {
		var b strings.Builder
		ast.Inspect(e, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok {
				b.WriteString(strings.ToLower(id.Name) + " ")
			}
			return true
		})
		s := b.String()
		return strings.Contains(s, "signature") || strings.Contains(s, "sig ") || strings.Contains(s, "securitytoken") || strings.Contains(s, "sent ")
	}
	equalCalls := map[string]int{}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok {
			continue
		}
		ast.Inspect(fn, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BinaryExpr:
				if (n.Op == token.EQL || n.Op == token.NEQ) && (secretish(n.X) || secretish(n.Y)) {
					if lit, ok := n.Y.(*ast.BasicLit); ok && lit.Value == `""` {
						return true // an emptiness check compares no secret
					}
					t.Errorf("%s: %s compares a signature or token with %s", fset.Position(n.Pos()), fn.Name.Name, n.Op)
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Equal" {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "hmac" {
						equalCalls[fn.Name.Name]++
					}
				}
			}
			return true
		})
	}
	for _, name := range []string{"verifyV1Header", "verifyV1Query", "verifyV4", "checkToken"} {
		if equalCalls[name] == 0 {
			t.Errorf("%s does not compare with hmac.Equal", name)
		}
	}
}
