"""An example carecoord partner plugin: short notes on patients, configurable per tenant."""
