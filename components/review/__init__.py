"""The analyst's review: which rows to look at (`queue`), why each scored high
(`attribution`), the review's table (`report`) and its HTML page (`page`)."""
