"""The Envoy gateway: grpc-web, REST/JSON and the dashboard in front of the engine."""
