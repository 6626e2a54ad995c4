"""SKELETON: replaced by the helper that owns this module."""

from rest_framework.views import APIView


class LicenseTermsListView(APIView):
    pass


class ReleaseListCreateView(APIView):
    pass


class ReleaseDetailView(APIView):
    pass


class ReleaseRevokeView(APIView):
    pass


class ConsentListCreateView(APIView):
    pass


class ConsentWithdrawView(APIView):
    pass


class ReleaseDecisionView(APIView):
    pass


class ConsentDecisionView(APIView):
    pass
