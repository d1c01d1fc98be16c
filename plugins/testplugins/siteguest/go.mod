module github.com/trovato/trovato/plugins/testplugins/siteguest

go 1.26

require github.com/trovato/trovato/plugins/sdk v0.0.0

replace github.com/trovato/trovato/plugins/sdk => ../../sdk
