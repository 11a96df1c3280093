"""Care plans (FHIR CarePlan): goals with measured progress, activities, versioned history."""
