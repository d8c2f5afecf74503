module github.com/envkit/envkit

go 1.26.8

require (
	github.com/containerd/containerd/v2 v2.4.2 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/moby/buildkit v0.34.2 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/vmihailenco/msgpack/v5 v5.4.1 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
