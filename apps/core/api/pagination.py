"""One pagination for every list of the API: ?page=N&page_size=M (at most 200), with count/next/previous."""
from rest_framework.pagination import PageNumberPagination


class PagePagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200
