"""HTTP plumbing shared by every controller: context, errors, request ids, pagination."""
