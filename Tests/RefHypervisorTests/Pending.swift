// The reference engine lands here (issue 4); this keeps the target buildable meanwhile.
