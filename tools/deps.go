//go:build tools

// Package tools pins, through blank imports, modules that the connectors
// use, so that go mod tidy keeps them while work lands in parallel.
package tools

import (
	_ "github.com/apache/arrow-go/v18/arrow/csv"
	_ "github.com/apache/arrow-go/v18/parquet/pqarrow"
	_ "github.com/aws/aws-sdk-go-v2/config"
	_ "github.com/aws/aws-sdk-go-v2/credentials"
	_ "github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/hashicorp/go-hclog"
	_ "github.com/hashicorp/go-plugin"
	_ "github.com/hashicorp/go-retryablehttp"
	_ "github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/sony/gobreaker/v2"
	_ "github.com/spf13/cobra"
	_ "golang.org/x/oauth2/clientcredentials"
	_ "golang.org/x/time/rate"
	_ "google.golang.org/api/sheets/v4"
	_ "google.golang.org/grpc"
	_ "gopkg.in/yaml.v3"
)
