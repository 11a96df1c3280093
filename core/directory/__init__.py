"""Provider directory and community resources, per tenant."""
