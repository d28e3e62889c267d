"""Request and response bodies: the JSON field names existing clients already use."""
