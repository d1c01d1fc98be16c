module github.com/trovato/trovato/plugins/sdk

go 1.26
